import { join } from 'node:path';
import {
  addressFromPublicKey,
  decodeAddress,
  encodeAddress,
  fromHex,
  Keystore,
  sealKeyPairFromSeed,
  sha256,
  toHex,
  utf8,
  type KeyPair,
} from '../crypto/index.ts';
import { homeChain, TaskKind, taskIdFor, TxKind, ZNC, ZNC_DECIMALS, ZNC_UNIT, type TxRequest } from '../ledger/index.ts';
import { DEV_PASSPHRASE, keyPassphrases, loadKeyWithAny, readConfig, readGenesis } from '../node/index.client.ts';
import { formatUnits, NodeApiError, proposalPayload, voteOption, ZeusClient, type TxStatusAnswer } from '../sdk/index.ts';
import type { DevnetInfo } from './devnet.ts';

const znc = (n: string | bigint): string => `${formatUnits(BigInt(n), ZNC_DECIMALS)} ZNC`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The scripted walk through the ledger: transfers within and across inner chains, a
 * sub-token's life, staking, the foundation multisig, and vesting released on schedule.
 */
export async function runLedgerDemo(info: DevnetInfo, say: (line: string) => void): Promise<{ ok: boolean; steps: string[] }> {
  const home = info.nodes[0].home;
  const c = new ZeusClient(info.nodes[0].api);
  const passphrases = keyPassphrases({ devPassphrase: readConfig(home).devPassphrase ?? DEV_PASSPHRASE }, process.env.ZEUS_PASSPHRASE);
  const ks = new Keystore(join(home, 'keys'));
  const key = (n: string): KeyPair => loadKeyWithAny(ks, n, passphrases);
  const addr = (n: string): string => encodeAddress(addressFromPublicKey(key(n).publicKey));
  const genesis = readGenesis(home);
  const steps: string[] = [];
  const step = (s: string): void => {
    steps.push(s);
    say(`\n== ${s}`);
  };
  const send = async <K extends TxKind>(who: string, kind: K, payload: TxRequest<K>['payload'], what: string) => {
    const sent = await c.send(key(who), kind, payload, info.chainId);
    const r = await c.waitForTx(sent.hash, 30_000);
    if (r.status === 'rejected') throw new NodeApiError(422, r.error!.code, `${what}: ${r.error!.message}`);
    say(`   ${what}: committed on chain ${r.chain} at height ${r.height} (tx ${r.hash.slice(0, 16)}…)`);
    return r;
  };
  const settle = async (): Promise<void> => {
    // Receipts land one height later; wait until nothing is in flight.
    for (let i = 0; i < 100; i++) {
      const s = await c.status();
      if (s.receiptsInFlight === 0 && s.mempool === 0) return;
      await sleep(100);
    }
  };
  const balance = async (n: string, token = ZNC): Promise<bigint> => BigInt((await c.account(addr(n))).balances[token] ?? '0');

  step('1. The chain: 1 main + 9 inner chains, 10,000,000,000 ZNC at genesis');
  const s0 = await c.status();
  say(`   chain ${s0.chainId}, height ${s0.height}; total supply ${znc(s0.supply.total)}`);
  for (const n of ['alice', 'bob', 'carol', 'dave'])
    say(`   ${n.padEnd(6)} ${addr(n)} home chain ${homeChain(decodeAddress(addr(n)))}: ${znc(await balance(n))}`);

  step('2. Transfers (zero fees): same chain and across inner chains by receipt');
  const pairs: [string, string][] = [
    ['alice', 'bob'],
    ['carol', 'dave'],
    ['bob', 'carol'],
  ];
  for (const [from, to] of pairs) {
    const cross = homeChain(decodeAddress(addr(from))) !== homeChain(decodeAddress(addr(to)));
    await send(
      from,
      TxKind.Transfer,
      { to: decodeAddress(addr(to)), token: ZNC, amount: 1_250n * ZNC_UNIT, memo: 'demo' },
      `${from} → ${to} 1,250 ZNC${cross ? ' (cross-chain: debit now, credit by receipt at the next height)' : ''}`,
    );
  }
  await settle();
  for (const n of ['alice', 'bob', 'carol', 'dave']) say(`   ${n.padEnd(6)} ${znc(await balance(n))}`);

  step('3. A sub-token anchored to ZNC: create, convert, redeem');
  await send(
    'alice',
    TxKind.TokenCreate,
    { symbol: 'GPU', name: 'GPU hour credit', decimals: 8, anchorRate: 10n, deposit: 1_000n * ZNC_UNIT },
    'alice creates GPU: 1,000 ZNC deposit at 10 GPU per ZNC',
  );
  await send(
    'bob',
    TxKind.TokenCreate,
    { symbol: 'CPU', name: 'CPU hour credit', decimals: 8, anchorRate: 100n, deposit: 10n * ZNC_UNIT },
    'bob creates CPU: 10 ZNC deposit at 100 CPU per ZNC',
  );
  await settle();
  say(`   alice holds ${formatUnits(await balance('alice', 'GPU'), 8)} GPU`);
  await send('alice', TxKind.TokenConvert, { from: 'GPU', to: 'CPU', amount: 50n * ZNC_UNIT }, 'alice converts 50 GPU into CPU through ZNC');
  await settle();
  say(`   alice holds ${formatUnits(await balance('alice', 'GPU'), 8)} GPU and ${formatUnits(await balance('alice', 'CPU'), 8)} CPU`);
  await send('alice', TxKind.TokenRedeem, { symbol: 'CPU', amount: 100n * ZNC_UNIT }, 'alice redeems 100 CPU for 1 ZNC');
  await settle();
  for (const t of (await c.tokens()).tokens)
    say(`   ${t.symbol}: supply ${formatUnits(String(t.supply), 8)} = deposit ${znc(String(t.deposit))} × ${t.anchorRate}`);

  step('4. Staking raises the zero-fee transaction quota');
  const q0 = (await c.account(addr('dave'))).quota.limit;
  await send('dave', TxKind.Stake, { amount: 100_000n * ZNC_UNIT }, 'dave stakes 100,000 ZNC');
  await settle();
  const a = await c.account(addr('dave'));
  say(`   dave: staked ${znc(a.staked)}; quota ${q0} → ${a.quota.limit} transactions per ${a.quota.windowMs / 1000} s`);

  step("5. The development reserve moves only by a holders' vote and its 2-of-3 foundation multisig");
  const reserve = genesis.multisigs[0].address;
  const grant = { to: decodeAddress(addr('carol')), token: ZNC, amount: 5_000n * ZNC_UNIT, memo: 'grant' };
  try {
    await send('foundation-1', TxKind.MultisigPropose, { account: decodeAddress(reserve), ...grant }, 'foundation-1 proposes a grant from the reserve alone');
  } catch (e) {
    say(`   the foundation alone is refused: ${(e as Error).message}`);
  }
  const minDeposit = BigInt((await c.govParams()).params.find((p) => p.name === 'governance.minDeposit')!.value);
  const proposed = await send(
    'dave',
    TxKind.GovPropose,
    proposalPayload({ type: 'reserve-spend', title: 'A 5,000 ZNC grant to carol', to: grant.to, amount: grant.amount, deposit: minDeposit }),
    `dave proposes the grant to the holders with a ${znc(minDeposit.toString())} deposit`,
  );
  const gid = await c.proposalOfTx(proposed.hash);
  await send('dave', TxKind.GovVote, { proposal: BigInt(gid), option: voteOption('yes') }, `dave votes yes on proposal ${gid} with his stake`);
  const votingEnd = (await c.govProposal(gid)).votingEnd ?? 0;
  say(`   the vote is counted at height ${votingEnd}; waiting…`);
  let decided = await c.govProposal(gid);
  for (let last = 0; decided.status === 'voting'; decided = await c.govProposal(gid)) {
    const h = (await c.status()).height;
    if (h - last >= 10) {
      say(`   height ${h} of ${votingEnd}`);
      last = h;
    }
    await sleep(500);
  }
  say(`   proposal ${gid}: ${decided.status}; yes ${znc(decided.tally?.yes ?? '0')} of ${znc(decided.tally?.bonded ?? '0')} bonded`);
  if (!decided.reserveProposal) throw new Error(`proposal ${gid} ended ${decided.status} (${decided.note}); the reserve has nothing to approve`);
  const pid = BigInt(decided.reserveProposal.id);
  say(`   the vote made proposal ${pid} on the reserve multisig; it pays only with 2 of 3 foundation approvals`);
  try {
    await send('foundation-1', TxKind.MultisigExecute, { account: decodeAddress(reserve), proposal: pid }, 'foundation-1 executes with no approval');
  } catch (e) {
    say(`   executing before the foundation approves is refused: ${(e as Error).message}`);
  }
  await send('foundation-1', TxKind.MultisigApprove, { account: decodeAddress(reserve), proposal: pid }, 'foundation-1 approves');
  await send('foundation-2', TxKind.MultisigApprove, { account: decodeAddress(reserve), proposal: pid }, 'foundation-2 approves');
  await send('foundation-2', TxKind.MultisigExecute, { account: decodeAddress(reserve), proposal: pid }, 'foundation-2 executes: carol is paid');
  await settle();

  step('6. Vesting enforced by the ledger (this devnet scales a month down)');
  const month = genesis.params.monthMs;
  const unlockAt = genesis.genesisTime + 6 * month;
  const acct = await c.account(addr('cornerstone'));
  say(`   cornerstone holds ${znc(acct.znc.balance)}, locked ${znc(acct.znc.vestingLocked)}, spendable ${znc(acct.znc.spendable)}`);
  const trySpend = () =>
    send('cornerstone', TxKind.Transfer, { to: decodeAddress(addr('alice')), token: ZNC, amount: 1_000n * ZNC_UNIT, memo: '' }, 'cornerstone pays 1,000 ZNC');
  if (Date.now() < unlockAt - 1500) {
    try {
      await trySpend();
    } catch (e) {
      say(`   before month 7 the ledger refuses: ${(e as Error).message}`);
    }
  }
  // Block time must pass the release, not only the clock: leave a few blocks' margin.
  const wait = unlockAt + 1500 - Date.now();
  if (wait > 0) {
    say(`   waiting ${(wait / 1000).toFixed(1)} s of block time for the first 15 % release (month 7)…`);
    await sleep(wait);
  }
  const after = await c.account(addr('cornerstone'));
  say(`   now spendable ${znc(after.znc.spendable)}, still locked ${znc(after.znc.vestingLocked)}`);
  await trySpend();
  await settle();

  await marketTour(step, say, { c, send, settle, addr, key, znc });

  step('8. Nothing was created or destroyed');
  const s1 = await c.status();
  const sup = s1.supply;
  say(
    `   height ${s1.height}: ${znc(sup.total)} = spendable ${znc(sup.spendable)} + vesting ${znc(sup.vesting)} + staked ${znc(sup.staked)} + multisig ${znc(sup.multisig)} + pool ${znc(sup.pool)} + anchored ${znc(sup.anchored)} + escrow ${znc(sup.escrow)} + bonded ${znc(sup.bonded)} + in flight ${znc(sup.inFlight)}`,
  );
  let agreed = true;
  if (info.nodes.length > 1) {
    step(`9. ${info.nodes.length} bookkeeper processes decided every block together`);
    const clients = info.nodes.map((n) => new ZeusClient(n.api));
    const h = Math.min(...(await Promise.all(clients.map(async (x) => (await x.status()).height))));
    const hashes = await Promise.all(clients.map(async (x) => (await x.block(h)).hash));
    agreed = hashes.every((x) => x === hashes[0]);
    info.nodes.forEach((n, i) => say(`   ${n.name}: block ${h} ${hashes[i].slice(0, 16)}…`));
    const b = await c.bookkeepers();
    for (const k of b.candidates)
      say(
        `   ${k.name.padEnd(13)} proposed ${k.proposed} blocks, missed ${k.missedTotal}, earned ${znc(k.earned)} this epoch${k.inSet ? '' : ' (not in the set)'}`,
      );
    say(agreed ? '   every node holds the same block: one chain, final at each height' : '   NODES DISAGREE');
  }
  return { ok: BigInt(sup.total) === 10_000_000_000n * ZNC_UNIT && agreed, steps };
}

interface TourTools {
  c: ZeusClient;
  send: <K extends TxKind>(who: string, kind: K, payload: TxRequest<K>['payload'], what: string) => Promise<TxStatusAnswer>;
  settle: () => Promise<void>;
  addr: (n: string) => string;
  key: (n: string) => KeyPair;
  znc: (n: string | bigint) => string;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * The market on the devnet's ledger, end to end. The worker's side is sent by hand here (the
 * worker agent that runs containers comes with the worker issue): carol registers a worker, dave
 * publishes an app, bob posts a batch task, carol bids, the window closes and every bookkeeper
 * leases it to her, she starts it, reports usage and submits a result, and after the review
 * window the ledger pays her and dave from bob's escrow and returns the rest to bob.
 */
async function marketTour(step: (s: string) => void, say: (line: string) => void, t: TourTools): Promise<void> {
  const { c, send, settle, addr, key, znc } = t;
  step('7. The compute market: worker, app, task, bid, lease, usage, result, automatic payment');
  const mp = await c.marketParams();
  const bond = BigInt(mp.minWorkerBond);
  const before = { bob: await zncOf(c, addr('bob')), carol: await zncOf(c, addr('carol')), dave: await zncOf(c, addr('dave')) };
  await send('carol', TxKind.Stake, { amount: bond }, `carol stakes ${znc(bond)}: a worker's bond comes out of its stake`);
  await until('the stake on main', async () => (BigInt((await c.account(addr('carol'))).staked) >= bond ? true : undefined));
  await send(
    'carol',
    TxKind.RegisterWorker,
    {
      cpuMillis: 4000,
      memoryMiB: 8192,
      diskMiB: 50_000,
      bandwidthMbps: 100,
      gpus: [],
      runtimes: ['docker', 'wasm'],
      region: 'eu',
      endpoint: '127.0.0.1:7700',
      sealKey: sealKeyPairFromSeed(key('carol').secretKey).publicKey,
      priceCpuCoreHour: ZNC_UNIT / 10n,
      priceMemoryGiBHour: ZNC_UNIT / 100n,
      priceGpuHour: 0n,
      bond,
      benchmark: 700,
    },
    'carol registers a worker: 4 cores, 8 GiB, docker and wasm, 0.1 ZNC per core-hour + 0.01 per GiB-hour',
  );
  const digest = `sha256:${toHex(sha256(utf8('zeus demo app hello 1.0')))}`;
  await send(
    'dave',
    TxKind.PublishApp,
    { name: 'hello', version: '1.0', digest, developer: new Uint8Array(), feeToken: ZNC, licenseFeePerHour: ZNC_UNIT / 20n, requiresLicense: false },
    'dave publishes app hello@1.0 with a license fee of 0.05 ZNC/h',
  );
  const order = {
    cpuMillis: 1000,
    memoryMiB: 1024,
    diskMiB: 1000,
    bandwidthMbps: 10,
    gpuCount: 0,
    gpuModel: '',
    gpuMemoryMiB: 0,
    runtime: 'docker',
    region: '',
    minRating: 0,
  };
  const q = await c.quote({ ...order, maxPricePerHour: ZNC_UNIT.toString() });
  const mine = q.candidates.find((x) => x.worker === toHex(decodeAddress(addr('carol'))) || x.worker === addr('carol'));
  if (!mine) throw new Error('the quote does not list carol as able to serve the task');
  say(`   quote: ${q.candidates.length} of ${q.workers} registered worker(s) could serve 1 core / 1 GiB at ≤ 1 ZNC/h; carol asks ${znc(mine.ask)}/h`);
  const posted = await send(
    'bob',
    TxKind.PostTask,
    {
      ...order,
      app: 'hello',
      version: '1.0',
      image: '',
      replicas: 1,
      kind: TaskKind.Batch,
      maxPricePerHour: ZNC_UNIT,
      maxHours: 1,
      redundancy: 1,
      ports: [],
      sealed: new Uint8Array(),
      bidWindowBlocks: 8,
      retries: 1,
    },
    'bob posts a batch task: hello@1.0, 1 core, 1 GiB, at most 1 ZNC/h for 1 h (escrow: 1.05 ZNC)',
  );
  const id = taskIdFor(fromHex(posted.hash), posted.chain);
  const idHex = toHex(id);
  await send('carol', TxKind.Bid, { task: id, price: BigInt(mine.ask) }, `carol bids ${znc(mine.ask)}/h on task ${idHex.slice(0, 12)}…`);
  const lease = await until('the window to close', async () => (await c.task(idHex)).leases[0]);
  say(
    `   the bid window closed: every bookkeeper ranked the bids the same way and leased replica 0 to carol at ${znc(lease.price)}/h (start by height ${lease.startBy})`,
  );
  await send('carol', TxKind.StartLease, { task: id, lease: 0, endpoint: '' }, 'carol starts the lease (the worker agent would now run the container)');
  await sleep(2000);
  await send(
    'carol',
    TxKind.ReportUsage,
    { task: id, lease: 0, seq: 1, cpuSeconds: 2n, memoryGiBSeconds: 2n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 2000n },
    'carol reports 2 s of usage (held in escrow until the review ends)',
  );
  await sleep(1000);
  const done = await send(
    'carol',
    TxKind.SubmitResult,
    {
      task: id,
      lease: 0,
      digest: `sha256:${toHex(sha256(utf8('hello result')))}`,
      cpuSeconds: 1n,
      memoryGiBSeconds: 1n,
      gpuSeconds: 0n,
      networkBytes: 0n,
      wallMs: 1000n,
    },
    'carol submits the result digest',
  );
  say(`   review window: ${mp.reviewBlocks} blocks from height ${done.height}; without a dispute the ledger pays by itself`);
  const settled = await until('the review to end', async () => {
    const l = (await c.task(idHex)).leases[0];
    return l.state === 'settled' ? l : undefined;
  });
  await settle();
  await sleep(600);
  await settle();
  const task = await c.task(idHex);
  const after = { bob: await zncOf(c, addr('bob')), carol: await zncOf(c, addr('carol')), dave: await zncOf(c, addr('dave')) };
  say(`   lease ${settled.state}: ${settled.outcome}; ${(Number(settled.usage.wallMs) / 1000).toFixed(1)} s of block time paid`);
  say(`   bob paid ${znc(before.bob - after.bob)} (the rest of the escrow came back; task ${task.state}, escrow ${znc(task.escrow)})`);
  const dividend = after.carol - before.carol + bond - BigInt(settled.workerPaid);
  say(
    `   carol earned ${znc(settled.workerPaid)} for the lease and ${znc(dividend)} of worker dividend; her ${znc(bond)} bond stays with her worker until she leaves`,
  );
  say(`   dave earned ${znc(settled.feePaid)} in license fees: ${znc(after.dave - before.dave)}`);
}

async function zncOf(c: ZeusClient, address: string): Promise<bigint> {
  return BigInt((await c.account(address)).balances[ZNC] ?? '0');
}
