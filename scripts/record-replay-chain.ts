// Records a long chain of every transaction kind, for test/replay-chain.test.ts: the blocks, their
// certificates and, per height, the block hash and state roots the ledger gave when it was made.
// The fixture was recorded before issue 14's refactor; replaying it after any change to the ledger
// shows the change kept every block hash and state root. Re-record only for a deliberate change of
// the state machine, and say so in the commit.
//
//   node scripts/record-replay-chain.ts [--heights 2500] [--seed 14] [--out test/fixtures/replay-chain]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Rng } from '../sim/prng.ts';
import { bytesEqual, sha256, toHex } from '../src/crypto/portable.ts';
import {
  blockHash,
  checkSupply,
  encodeCommittedBlock,
  encodeSignedVote,
  MAIN_CHAIN,
  multisigAddress,
  readAccount,
  signVote,
  stakedOf,
  homeChain,
  stores,
  taskIdFor,
  appOutcomeDigest,
  LeaseState,
  TaskKind,
  TaskState,
  TX_KIND_NAMES,
  TxKind,
  ZNC,
  ZNC_UNIT,
  type Tx,
} from '../src/ledger/index.ts';
import { MarketDriver, workerSpec } from '../src/ledger/marketTesting.ts';
import { actionTx, DEVS, DIGESTS, publishAppTxs, registerWorkerTxs, settleCompared, USERS, WORKERS, type MarketAction } from '../src/ledger/marketTraffic.ts';

const { values: opts } = parseArgs({
  options: {
    heights: { type: 'string', default: '2500' },
    seed: { type: 'string', default: '14' },
    out: { type: 'string', default: 'test/fixtures/replay-chain' },
  },
});
const HEIGHTS = Number(opts.heights);
const rng = new Rng(Number(opts.seed));
const r = (n: number): number => rng.u32() % n;

/** Bank traffic senders: plain accounts spread over the inner chains. */
const BANK = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
const SYMBOLS = ['GOLD', 'SILV', 'COPR'];
const m = new MarketDriver(
  [...USERS, ...WORKERS, ...DEVS, ...BANK],
  { reviewBlocks: 8, startDeadlineBlocks: 3, reportDeadlineBlocks: 4, graceBlocks: 2, lowEscrowMs: 60_000 },
  {
    epochLength: 10,
    bookkeeperSeats: 4,
    missedToJail: 3,
    minCandidateStake: (100n * ZNC_UNIT).toString(),
    jailMs: 20_000,
    freeQuota: 1000,
  },
);

const recorded: Uint8Array[] = [];
const expected: { height: number; hash: string; roots: string }[] = [];
m.onCommit = ({ block, certificate }) => {
  recorded.push(encodeCommittedBlock({ block, certificate }));
  expected.push({ height: Number(block.header.height), hash: toHex(blockHash(block.header)), roots: toHex(sha256(...m.t.ledger.stateRoots())) });
};

const tried = new Map<number, number>();
const accepted = new Map<number, number>();
const bump = (map: Map<number, number>, k: number): void => void map.set(k, (map.get(k) ?? 0) + 1);
const codes = new Map<string, number>();
const main = () => m.t.ledger.chains[MAIN_CHAIN];
const multisigs: Uint8Array[] = [];
const proposals: { account: Uint8Array; id: bigint }[] = [];
/** Candidates that signed two conflicting votes, and whether the evidence is in. */
const equivocated = new Set<string>();
/** Bookkeepers made to miss slots (so jailed, then unjailing). */
const missed = new Set<string>();
/** Apps published during the run, which may be deprecated (the two first stay usable). */
const published: { name: string; version: string }[] = [];

function heightTxs(txs: Tx[]): void {
  const rejected = m.next(txs, true);
  for (const tx of txs) {
    bump(tried, tx.kind);
    const err = rejected.get(tx.hashHex);
    if (err) {
      const k = `${TX_KIND_NAMES[tx.kind]}:${err.code}`;
      codes.set(k, (codes.get(k) ?? 0) + 1);
      continue;
    }
    bump(accepted, tx.kind);
    const b = tx.body;
    if (b.kind === TxKind.MultisigCreate) multisigs.push(multisigAddress(tx.from, tx.nonce));
    if (b.kind === TxKind.MultisigPropose)
      proposals.push({ account: b.payload.account, id: BigInt(proposals.filter((p) => bytesEqual(p.account, b.payload.account)).length + 1) });
    if (b.kind === TxKind.PostTask) tasks.push({ id: taskIdFor(tx.hash, tx.chain), endedAt: 0 });
  }
}

/** One random bank, token, multisig, staking or election transaction. */
function bankTx(): Tx | undefined {
  const from = BANK[r(BANK.length)];
  const to = [...BANK, ...USERS][r(BANK.length + USERS.length)];
  const acc = readAccount(m.t.ledger.chains[homeChain(m.addr(from))], m.hex(from));
  const held = Object.keys(acc.balances).filter((k) => k !== ZNC && acc.balances[k] > 0n);
  switch (r(16)) {
    case 0:
    case 1:
      return m.tx(from, TxKind.Transfer, { to: m.addr(to), token: ZNC, amount: (BigInt(1 + r(5_000)) * ZNC_UNIT) / 100n, memo: r(4) === 0 ? 'rent' : '' });
    case 2:
      if (held.length === 0)
        return m.tx(from, TxKind.TokenCreate, {
          symbol: SYMBOLS[r(SYMBOLS.length)],
          name: 'a token',
          decimals: 2,
          anchorRate: 100n,
          deposit: BigInt(1 + r(50)) * ZNC_UNIT,
        });
      return m.tx(from, TxKind.Transfer, { to: m.addr(to), token: held[0], amount: 100n * BigInt(1 + r(10)), memo: '' });
    case 3: {
      const symbol = held[0] ?? SYMBOLS[r(SYMBOLS.length)];
      return m.tx(from, TxKind.TokenRedeem, { symbol, amount: 100n * BigInt(1 + r(5)) });
    }
    case 4: {
      const symbol = held[0] ?? SYMBOLS[0];
      return m.tx(from, TxKind.TokenConvert, { from: symbol, to: SYMBOLS[r(SYMBOLS.length)], amount: 100n * BigInt(1 + r(5)) });
    }
    case 5: {
      const members = [m.addr(from), m.addr(BANK[(BANK.indexOf(from) + 1) % BANK.length])];
      if (multisigs.length > 6) return m.tx(from, TxKind.Transfer, { to: multisigs[r(multisigs.length)], token: ZNC, amount: 5n * ZNC_UNIT, memo: '' });
      return m.tx(from, TxKind.MultisigCreate, { members, threshold: 1 + r(2) });
    }
    case 6: {
      if (multisigs.length === 0) return undefined;
      const account = multisigs[r(multisigs.length)];
      const ms = stores.multisigs.get(main(), toHex(account));
      if (!ms) return undefined;
      const pickd = ms.members[r(ms.members.length)];
      const member = BANK.find((b) => bytesEqual(m.addr(b), pickd))!;
      return m.tx(member, TxKind.MultisigPropose, { account, to: m.addr(to), token: ZNC, amount: BigInt(1 + r(3)) * ZNC_UNIT, memo: '' });
    }
    case 7:
    case 8: {
      if (proposals.length === 0) return undefined;
      const q = proposals[r(proposals.length)];
      const ms = stores.multisigs.get(main(), toHex(q.account));
      const p = stores.proposals.get(main(), toHex(q.account), q.id);
      if (!ms || !p || p.executed) return undefined;
      const pickd = ms.members[r(ms.members.length)];
      const member = BANK.find((b) => bytesEqual(m.addr(b), pickd))!;
      return m.tx(member, p.approvals.length >= ms.threshold ? TxKind.MultisigExecute : TxKind.MultisigApprove, { account: q.account, proposal: q.id });
    }
    case 9:
      return m.tx(from, TxKind.Stake, { amount: BigInt(50 + r(150)) * ZNC_UNIT });
    case 10: {
      const staked = stakedOf(main(), m.hex(from));
      return staked > 0n ? m.tx(from, TxKind.Unstake, { amount: staked / BigInt(2 + r(6)) }) : undefined;
    }
    case 11:
      return m.tx(from, TxKind.RegisterCandidate, { name: `${from}-bookkeeper` });
    case 12: {
      const cands = stores.candidates.scan(main()).map(([[hex]]) => hex);
      const chosen = BANK.filter((b) => cands.includes(m.hex(b))).slice(0, 1 + r(3));
      return m.tx([...USERS, ...BANK][r(USERS.length + BANK.length)], TxKind.VoteBookkeepers, { candidates: chosen.map((b) => m.addr(b)) });
    }
    case 13:
      return m.tx(USERS[r(USERS.length)], TxKind.Delegate, { proxy: r(4) === 0 ? new Uint8Array(0) : m.addr(from) });
    case 14: {
      // A candidate signs two different votes for one height and round; anyone reports it.
      const cands = BANK.filter((b) => main().get(`cand/${m.hex(b)}`) !== undefined && !equivocated.has(b) && !missed.has(b));
      if (cands.length === 0 || equivocated.size >= 2) return undefined;
      const signer = cands[r(cands.length)];
      equivocated.add(signer);
      const key = m.t.keys[signer];
      const base = { chainId: m.t.genesis.chainId, type: 2, height: BigInt(m.height), round: 0, validator: key.publicKey };
      const first = signVote(key, { ...base, blockHash: new Uint8Array(32).fill(1) });
      const second = signVote(key, { ...base, blockHash: new Uint8Array(32).fill(2) });
      return m.tx(to, TxKind.SubmitEvidence, { first: encodeSignedVote(first), second: encodeSignedVote(second) });
    }
    default: {
      if (missed.size === 0) return undefined;
      const who = [...missed][r(missed.size)];
      return m.tx(who, TxKind.Unjail, {});
    }
  }
}

const tasks: { id: Uint8Array; endedAt: number }[] = [];

/** Market transactions the conservation property's traffic does not send: withdrawn bids, released leases, app outcomes. */
function marketExtraTx(ids: Uint8Array[]): Tx | undefined {
  const leases = ids.flatMap((id) => Array.from({ length: m.task(id).leaseCount }, (_, i) => ({ id, i, l: m.lease(id, i) })));
  const lessee = (l: { worker: Uint8Array }): string => WORKERS.find((x) => m.hex(x) === toHex(l.worker))!;
  switch (r(3)) {
    case 0: {
      const open = ids.filter((id) => m.task(id).state === TaskState.Open);
      return open.length > 0 ? m.tx(WORKERS[r(WORKERS.length)], TxKind.WithdrawBid, { task: open[r(open.length)] }) : undefined;
    }
    case 1: {
      const matched = leases.filter((x) => x.l.state === LeaseState.Matched);
      if (matched.length === 0) return undefined;
      const { id, i, l } = matched[r(matched.length)];
      return m.tx(lessee(l), TxKind.ReleaseLease, { task: id, lease: i, reason: 'MANIFEST_UNAVAILABLE' });
    }
    default: {
      const running = leases.filter((x) => (x.l.state === LeaseState.Started || x.l.state === LeaseState.Running) && m.task(x.id).kind === TaskKind.Batch);
      if (running.length === 0) return undefined;
      const { id, i, l } = running[r(running.length)];
      const outcome = r(2) === 0 ? { exitCode: 3, oomKilled: false, cause: '' } : { exitCode: 0, oomKilled: true, cause: 'memory' };
      const usage = { cpuSeconds: 2n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 2_000n };
      return m.end(lessee(l), id, i, appOutcomeDigest(outcome), usage, { ...outcome, logDigest: `sha256:${'33'.repeat(32)}` });
    }
  }
}

/** Workers doing their job, as agents do: bid on open tasks, start matched leases, report and end running ones. */
function diligentTxs(ids: Uint8Array[]): Tx[] {
  const txs: Tx[] = [];
  const usage = { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 10n, wallMs: 1_000n };
  for (const id of ids) {
    const task = m.task(id);
    if (task.state === TaskState.Open && r(3) === 0) txs.push(m.tx(WORKERS[r(WORKERS.length)], TxKind.Bid, { task: id, price: task.maxPricePerHour / 2n }));
    for (let i = 0; i < task.leaseCount; i++) {
      const l = m.lease(id, i);
      const w = WORKERS.find((x) => m.hex(x) === toHex(l.worker));
      if (!w || r(3) !== 0) continue;
      if (l.state === LeaseState.Matched) txs.push(m.tx(w, TxKind.StartLease, { task: id, lease: i, endpoint: '127.0.0.1:9000' }));
      else if ((l.state === LeaseState.Started || l.state === LeaseState.Running) && task.kind === TaskKind.Batch && r(2) === 0 && !m.compared(id, i)) {
        const failed = r(4) === 0 ? { exitCode: 2, oomKilled: false, cause: '', logDigest: `sha256:${'44'.repeat(32)}` } : undefined;
        txs.push(m.end(w, id, i, failed ? appOutcomeDigest(failed) : DIGESTS[0], usage, failed));
      } else if (l.state === LeaseState.Started || l.state === LeaseState.Running)
        txs.push(m.tx(w, TxKind.ReportUsage, { task: id, lease: i, seq: l.reports + 1, ...usage }));
    }
  }
  return txs;
}

/** Workers that left come back once their bond is released (so the market goes on for thousands of heights). */
function rejoinTxs(): Tx[] {
  const txs: Tx[] = [];
  for (const w of WORKERS) {
    const rec = stores.workers.get(m.t.ledger.chains[MAIN_CHAIN], m.hex(w));
    if (rec && rec.bond > 0n) continue;
    txs.push(m.tx(w, TxKind.Stake, { amount: 150n * ZNC_UNIT }), m.tx(w, TxKind.RegisterWorker, workerSpec({ cpuMillis: 2000, bond: 150n * ZNC_UNIT })));
  }
  return txs;
}
const ENDED = [TaskState.Done, TaskState.Cancelled, TaskState.Expired] as number[];

// Workers of different sizes (one with a GPU, one expensive), the apps, and worker updates later on.
heightTxs(WORKERS.map((w) => m.tx(w, TxKind.Stake, { amount: 500n * ZNC_UNIT })));
m.next();
heightTxs(registerWorkerTxs(m));
heightTxs(publishAppTxs(m));

const started = Date.now();
while (m.height < HEIGHTS) {
  // Tasks that ended long ago drop out of the traffic (their leases cannot move any more).
  for (const t of tasks) if (t.endedAt === 0 && ENDED.includes(m.task(t.id).state)) t.endedAt = m.height;
  const live = tasks.filter((t) => t.endedAt === 0 || m.height - t.endedAt < 20);
  tasks.splice(0, tasks.length, ...live);
  const ids = tasks.map((t) => t.id);
  const txs: Tx[] = [];
  for (let i = r(5); i > 0; i--) {
    const a: MarketAction = {
      kind: r(8) < 3 ? r(15) : [2, 2, 3, 4, 4, 5, 7, 7, 10, 10, 10, 13, 13][r(13)],
      actor: rng.u32(),
      pick: rng.u32(),
      n: r(1_000_000),
      flag: r(2) === 0,
    };
    const tx = actionTx(m, ids, a);
    if (tx) txs.push(tx);
  }
  if (m.height % 2 === 1) txs.push(...settleCompared(m, ids));
  if (r(3) === 0) {
    const tx = marketExtraTx(ids);
    if (tx) txs.push(tx);
  }
  if (m.height % 25 === 0) txs.push(...rejoinTxs());
  if (r(2) === 0) txs.push(...diligentTxs(ids));
  for (let i = r(4); i > 0; i--) {
    const tx = bankTx();
    if (tx) txs.push(tx);
  }
  const rare = r(200);
  if (rare === 0)
    txs.push(m.tx(WORKERS[r(WORKERS.length)], TxKind.UpdateWorker, { ...workerSpec({ priceCpuCoreHour: BigInt(8_000_000 + r(2_000_000)) }), addBond: 0n }));
  if (rare === 1 && published.length > 0) txs.push(m.tx(DEVS[0], TxKind.DeprecateApp, published[r(published.length)]));
  if (rare === 2 || rare === 3) {
    const app = { name: `app${2 + r(3)}`, version: String(m.height) };
    published.push(app);
    txs.push(
      m.tx(DEVS[0], TxKind.PublishApp, {
        ...app,
        digest: DIGESTS[r(2)],
        developer: new Uint8Array(),
        feeToken: ZNC,
        licenseFeePerHour: 0n,
        requiresLicense: false,
      }),
    );
  }
  const skip = r(60);
  if (skip === 0) m.t.ledger.time += 600_000;
  else if (skip < 4) m.t.ledger.time += 30_000;
  // Now and then an elected bookkeeper misses a run of heights (its key does not sign), so it is jailed and unjails later.
  const set = m.t.ledger.bookkeepersAt(m.height + 1).map(toHex);
  // Only from a set of 4 or more, so the others still make a quorum.
  const absent = set.length >= 4 && m.height % 300 >= 150 && m.height % 300 < 170 ? BANK.find((b) => set.includes(toHex(m.t.keys[b].publicKey))) : undefined;
  if (absent) {
    m.absent.add(absent);
    missed.add(absent);
  }
  heightTxs(txs);
  m.absent.clear();
  if (m.height % 250 === 0)
    console.log(
      `height ${m.height}: set ${set.map((k) => BANK.find((b) => toHex(m.t.keys[b].publicKey) === k) ?? k.slice(0, 6)).join(',')}, ${(Date.now() - started) / 1000} s, ${[...accepted.values()].reduce((a, b) => a + b, 0)} transactions accepted`,
    );
}
checkSupply(m.t.ledger);

const missing = Object.values(TxKind).filter((k) => !accepted.get(k));
for (const k of Object.values(TxKind)) console.log(`${TX_KIND_NAMES[k].padEnd(18)} ${accepted.get(k) ?? 0}/${tried.get(k) ?? 0}`);
if (process.env.ZEUS_RECORD_CODES) console.log(Object.fromEntries([...codes].sort()));
if (missing.length > 0) {
  console.error(`no accepted transaction of: ${missing.map((k) => TX_KIND_NAMES[k]).join(', ')}`);
  process.exit(1);
}

mkdirSync(opts.out, { recursive: true });
writeFileSync(join(opts.out, 'genesis.json'), `${JSON.stringify(m.t.genesis, null, 1)}\n`);
const framed = recorded.flatMap((b) => {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, b.length);
  return [len, b];
});
writeFileSync(join(opts.out, 'blocks.bin.gz'), gzipSync(Buffer.concat(framed), { level: 9 }));
writeFileSync(
  join(opts.out, 'expected.json'),
  `${JSON.stringify({ seed: Number(opts.seed), heights: expected.length, accepted: Object.fromEntries([...accepted].map(([k, n]) => [TX_KIND_NAMES[k], n])), blocks: expected })}\n`,
);
console.log(`wrote ${expected.length} blocks to ${opts.out}`);
