import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, decodeAddress, encodeAddress, generateKeyPair, type KeyPair, Keystore, sha256, toHex } from '../src/crypto/index.ts';
import { decodeTx, homeChain, signTx, TxKind, ZNC, ZNC_UNIT } from '../src/ledger/index.ts';
import type { AccountAnswer, StatusAnswer, TxStatusAnswer } from '../src/sdk/index.ts';
import { checkFiles, checkRun, formatVerdict, readFinalState, type Verdict } from './faults/checker.ts';
import { type CommittedTx, collectFinalState, type FinalState, httpGetter } from './faults/finalState.ts';
import { type History, type HistoryRecord, HistoryWriter, readHistory } from './faults/history.ts';
import { ceremonyInProcess } from './helpers/netJoin.ts';
import { ClientAgent, type NetNetwork, startNetwork, until } from './helpers/netNodes.ts';

// Issue 16, must show 3: the checker catches what it should. A real run first — four bookkeepers on
// loopback, ~50 transfers among 12 accounts homed on different inner chains, recorded by a tiny
// recorder with the real history writer, the final state collected over the nodes' APIs — which
// the checker must find clean; then copies of that history and final state, each doctored the way
// a real bug would leave them (a transfer committed twice, a lost acknowledgement, a fork, a
// balance off by one base unit, a refused operation that committed, an unknown one committed twice,
// the supply off), and the checker must report each, and nothing else.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const PASS = 'faults-checker';
const CHAIN = 'zeus-faults-checker';
const ACCOUNTS = 12;
const ROUNDS = 4;
const FUND = 1_000n * ZNC_UNIT;

const get = httpGetter(10_000);

async function post(node: string, hex: string): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const r = await fetch(`${node}/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: hex }) });
  return { status: r.status, body: (await r.json()) as { error?: { code: string; message: string } } };
}

const addressOf = (k: KeyPair): string => encodeAddress(addressFromPublicKey(k.publicKey));

/** A seeded generator (mulberry32), so that a failing run can be replayed with the same amounts and pairs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A copy of a committed transfer under another hash, as a second signing of the same op would commit it. */
function recommit(t: CommittedTx, salt: string): CommittedTx {
  return { ...t, hash: toHex(sha256(new TextEncoder().encode(`${t.hash}/${salt}`))), index: t.index + 1000 };
}

/** Moves `amount` between two accounts' balances on every node, as a transfer that really (un)committed would. */
function shift(final: FinalState, from: string, to: string, amount: bigint): void {
  for (const n of final.nodes) {
    if (n.balances[from] !== undefined) n.balances[from] = String(BigInt(n.balances[from]) - amount);
    if (n.balances[to] !== undefined) n.balances[to] = String(BigInt(n.balances[to]) + amount);
  }
}

const kinds = (v: Verdict): string[] => v.violations.map((x) => x.kind).sort();

describe('the checker over a real run of four bookkeepers, and doctored copies of it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-faults-checker-'));
  let network: NetNetwork | undefined;

  beforeAll(async () => {
    const c = ceremonyInProcess({ dir, operators: 4, chainId: CHAIN, passphrase: PASS, p2p: (i) => `/ip4/127.0.0.1/tcp/${30_000 + i}` });
    network = await startNetwork({ homes: c.homes.map((home, i) => ({ home, key: c.keyName, name: `op-${i}` })), passphrase: PASS, logDir: join(dir, 'logs') });
  }, 90_000);
  afterAll(async () => {
    await network?.stop();
    if (!process.env.ZEUS_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the real run clean and reports each doctored fault, and nothing else', async () => {
    const t0 = Date.now();
    const mark = (what: string): void => console.log(`[faults-checker] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    const apis = network!.nodes.map((n) => n.api);
    await until('the four nodes committing', 60_000, async () => {
      const s = await Promise.all(apis.map((a) => get(a, '/status') as Promise<StatusAnswer>));
      return s.every((x) => x.height >= 2) ? true : undefined;
    });
    mark('network committing');

    // Twelve accounts spread over the inner chains (at most two on one).
    const keys: KeyPair[] = [];
    const perChain = new Map<number, number>();
    while (keys.length < ACCOUNTS) {
      const k = generateKeyPair();
      const ch = homeChain(addressFromPublicKey(k.publicKey));
      if ((perChain.get(ch) ?? 0) >= 2) continue;
      perChain.set(ch, (perChain.get(ch) ?? 0) + 1);
      keys.push(k);
    }
    const addrs = keys.map(addressOf);
    expect(perChain.size).toBeGreaterThanOrEqual(6);

    // Funded by an operator before the workload starts (below the history's start height).
    const opKeys = network!.nodes.map((n) => new Keystore(join(n.home, 'keys')).load('op', PASS));
    const spendable = await Promise.all(opKeys.map(async (k) => BigInt(((await get(apis[0], `/accounts/${addressOf(k)}`)) as AccountAnswer).znc.spendable)));
    const funder = opKeys[spendable.findIndex((s) => s >= FUND * BigInt(ACCOUNTS + 1))];
    const fchain = homeChain(addressFromPublicKey(funder.publicKey));
    const fnonce = BigInt(((await get(apis[0], `/accounts/${addressOf(funder)}`)) as AccountAnswer).nonces[fchain] ?? '0');
    for (const [i, a] of addrs.entries()) {
      const bytes = signTx(funder, {
        chainId: CHAIN,
        kind: TxKind.Transfer,
        nonce: fnonce + BigInt(i),
        payload: { to: decodeAddress(a), token: ZNC, amount: FUND, memo: 'fund' },
      });
      expect((await post(apis[0], toHex(bytes))).status).toBe(202);
    }
    await until('the accounts funded on every node', 30_000, async () => {
      const s = await Promise.all(apis.map((n) => get(n, '/status') as Promise<StatusAnswer>));
      if (s.some((x) => x.receiptsInFlight > 0 || x.mempool > 0)) return undefined;
      const b = await Promise.all(addrs.map(async (a) => ((await get(apis[0], `/accounts/${a}`)) as AccountAnswer).znc.balance));
      return b.every((x) => BigInt(x) === FUND) ? true : undefined;
    });
    const startHeight = ((await get(apis[0], '/status')) as StatusAnswer).height;
    const balances = Object.fromEntries(
      await Promise.all(addrs.map(async (a) => [a, ((await get(apis[0], `/accounts/${a}`)) as AccountAnswer).znc.balance] as const)),
    );
    mark(`${ACCOUNTS} accounts on ${perChain.size} inner chains funded; history starts at height ${startHeight}`);

    // The recorder: each account is one client's sequence; an op waits for its commit on the node it was sent to.
    const historyFile = join(dir, 'history.jsonl');
    const w = new HistoryWriter(historyFile, { header: true, chainId: CHAIN, seed: 16, startedAt: Date.now(), balances, balancesAt: startHeight });
    const nonce = keys.map(() => 0n);
    const rand = rng(16);
    const sign = (i: number, to: string, amount: bigint, op: string) => {
      const bytes = signTx(keys[i], {
        chainId: CHAIN,
        kind: TxKind.Transfer,
        nonce: nonce[i],
        payload: { to: decodeAddress(to), token: ZNC, amount, memo: op },
      });
      return { hex: toHex(bytes), hash: decodeTx(bytes).hashHex };
    };
    const base = (i: number, op: string, node: string, hash: string, to: string, amount: bigint) =>
      ({
        op,
        client: `client-${i}`,
        kind: 'transfer',
        node,
        invokedAt: Date.now(),
        tx: hash,
        from: addrs[i],
        to,
        amount: amount.toString(),
        memo: op,
      }) as const;
    const invoke = async (i: number, op: string, to: string, amount: bigint, node: string): Promise<HistoryRecord> => {
      const s = sign(i, to, amount, op);
      const r = base(i, op, node, s.hash, to, amount);
      const p = await post(node, s.hex);
      if (p.status !== 202)
        return { ...r, outcome: 'fail', code: p.body.error?.code ?? String(p.status), note: p.body.error?.message, completedAt: Date.now() };
      nonce[i]++;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const t = (await get(node, `/txs/${s.hash}`).catch(() => undefined)) as TxStatusAnswer | undefined;
        if (t?.status === 'committed') return { ...r, outcome: 'ok', height: t.height, completedAt: Date.now() };
        if (t?.status === 'rejected') return { ...r, outcome: 'fail', code: t.error?.code, note: t.error?.message, completedAt: Date.now() };
        await new Promise((res) => setTimeout(res, 100));
      }
      return { ...r, outcome: 'unknown', note: 'no commit within 20 s', completedAt: Date.now() };
    };
    for (let round = 0; round < ROUNDS; round++) {
      const recs = await Promise.all(
        keys.map((_, i) => {
          const j = (i + 1 + Math.floor(rand() * (ACCOUNTS - 1))) % ACCOUNTS;
          const amount = 1n + BigInt(Math.floor(rand() * 1e9));
          return invoke(i, `t${round}-${i}`, addrs[j], amount, apis[(round + i) % apis.length]);
        }),
      );
      for (const r of recs) w.add(r);
    }
    // A refusal: more than the account holds.
    w.add(await invoke(0, 'too-much', addrs[1], 10n * FUND, apis[1]));
    // An unknown that commits: the client gave up without waiting for an answer.
    const u = sign(1, addrs[2], 777n, 'gave-up');
    const gaveUp = base(1, 'gave-up', apis[2], u.hash, addrs[2], 777n);
    expect((await post(apis[2], u.hex)).status).toBe(202);
    nonce[1]++;
    w.add({ ...gaveUp, outcome: 'unknown', note: 'the client gave up before the answer', completedAt: Date.now() });
    // An unknown that never commits: signed, then the client died before sending it.
    const d = sign(2, addrs[3], 555n, 'died');
    w.add({ ...base(2, 'died', apis[3], d.hash, addrs[3], 555n), outcome: 'unknown', note: 'the client died before sending', completedAt: Date.now() });
    w.close();
    mark(`${w.written} operations recorded`);

    const history = readHistory(historyFile);
    const finalFile = join(dir, 'final.json');
    const collected = await collectFinalState({ get, nodes: apis, history, file: finalFile, settleMs: 20_000, concurrency: 6 });
    expect(collected.settled).toBe(true);
    const final = readFinalState(finalFile);
    mark(`final state collected: ${final.txs.length} transactions, heights up to ${Math.max(...final.nodes.map((n) => n.heightAfter))}`);

    // The same through a client agent (how a run on separate hosts reads the nodes): the same transactions, as clean.
    const agent = await ClientAgent.start({ log: join(dir, 'logs', 'agent.log') });
    try {
      // Three blocks a page: the paging a long run needs (100 a page), on a short chain.
      const viaAgent = await collectFinalState({ get: (n, p) => agent.get(n, p), nodes: apis, history, settleMs: 5_000, pageSize: 3 });
      expect(viaAgent.txs).toEqual(final.txs);
      for (const [i, n] of viaAgent.nodes.entries()) {
        expect(n.blocks.map((b) => b.height)).toEqual(Array.from({ length: n.heightAfter }, (_, h) => h + 1));
        expect(n.blocks.slice(0, final.nodes[i].blocks.length)).toEqual(final.nodes[i].blocks);
      }
      expect(checkRun(history, viaAgent).violations).toEqual([]);
    } finally {
      agent.close();
    }

    // ---- the real run is clean
    const clean = checkFiles(historyFile, finalFile);
    console.log(formatVerdict(clean));
    expect(clean.violations).toEqual([]);
    expect(clean.counts.all).toEqual({ ok: ROUNDS * ACCOUNTS, fail: 1, unknown: 2, unknownCommitted: 1, unknownAbsent: 1 });
    expect(clean.counts.balancesChecked).toBe(ACCOUNTS * apis.length);
    expect(clean.counts.heightsCompared).toBeGreaterThan(startHeight);
    // Every funding and workload transfer is in the blocks the collector read.
    expect(final.txs.filter((t) => t.kind === 'Transfer').length).toBeGreaterThanOrEqual(ACCOUNTS + ROUNDS * ACCOUNTS + 1);

    const okTransfers = history.records.filter((r) => r.outcome === 'ok');
    const committed = (r: HistoryRecord): CommittedTx => final.txs.find((t) => t.hash === r.tx)!;
    const doctor = (f: (h: History, s: FinalState) => void): Verdict => {
      const h = structuredClone(history);
      const s = structuredClone(final);
      f(h, s);
      return checkRun(h, s);
    };

    // A transfer committed twice (its op signed again after a timeout): in the blocks under a second hash, and in the balances.
    const twice = committed(okTransfers[3]);
    let v = doctor((_, s) => {
      s.txs.push(recommit(twice, 'again'));
      shift(s, twice.from, twice.to!, BigInt(twice.amount!));
    });
    expect(kinds(v)).toEqual(['duplicate']);
    expect(v.violations[0].ops).toEqual([okTransfers[3].op]);

    // A lost acknowledgement: acked ok, but the blocks (and so the balances) lack it.
    const lost = committed(okTransfers[7]);
    v = doctor((_, s) => {
      s.txs = s.txs.filter((t) => t.hash !== lost.hash);
      shift(s, lost.to!, lost.from, BigInt(lost.amount!));
    });
    expect(kinds(v)).toEqual(['lost']);
    expect(v.violations[0].ops).toEqual([okTransfers[7].op]);

    // A fork: another hash at one height on one node.
    const forkAt = lost.height;
    v = doctor((_, s) => {
      const b = s.nodes[2].blocks.find((x) => x.height === forkAt)!;
      b.hash = toHex(sha256(new TextEncoder().encode(b.hash)));
    });
    expect(kinds(v)).toEqual(['fork']);
    expect(v.violations[0].heights).toEqual([forkAt]);
    expect(v.violations[0].nodes).toEqual([...apis].sort());

    // A balance off by one base unit on one node.
    v = doctor((_, s) => {
      s.nodes[1].balances[addrs[5]] = String(BigInt(s.nodes[1].balances[addrs[5]]) - 1n);
    });
    expect(kinds(v)).toEqual(['balance']);
    expect(v.violations[0]).toMatchObject({ accounts: [addrs[5]], nodes: [apis[1]] });

    // A refused operation that committed.
    v = doctor((h) => {
      const r = h.records.find((x) => x.op === okTransfers[9].op)!;
      Object.assign(r, { outcome: 'fail', code: 'MEMPOOL_FULL', height: undefined });
    });
    expect(kinds(v)).toEqual(['failed-committed']);
    expect(v.violations[0].ops).toEqual([okTransfers[9].op]);

    // An unknown operation committed twice (the real "gave-up" one, which committed once).
    const gave = final.txs.find((t) => t.hash === gaveUp.tx)!;
    expect(gave).toBeDefined();
    v = doctor((_, s) => {
      s.txs.push(recommit(gave, 'retry'));
      shift(s, gave.from, gave.to!, BigInt(gave.amount!));
    });
    expect(kinds(v)).toEqual(['duplicate']);
    expect(v.violations[0].ops).toEqual(['gave-up']);

    // The supply off by one base unit on one node.
    v = doctor((_, s) => {
      s.nodes[3].supply.total = String(BigInt(s.nodes[3].supply.total) - 1n);
    });
    expect(kinds(v)).toEqual(['supply']);

    // And through the files, as the command will: a doctored final state written beside the history.
    const bad = structuredClone(final);
    bad.nodes[0].balances[addrs[0]] = String(BigInt(bad.nodes[0].balances[addrs[0]]) + 1n);
    const badFile = join(dir, 'final-doctored.json');
    writeFileSync(badFile, JSON.stringify(bad));
    copyFileSync(historyFile, join(dir, 'history-copy.jsonl'));
    const fromFiles = checkFiles(join(dir, 'history-copy.jsonl'), badFile);
    expect(kinds(fromFiles)).toEqual(['balance']);
    expect(formatVerdict(fromFiles)).toMatch(/^INVALID: 1 violation/);
    mark('done');
  }, 90_000);
});
