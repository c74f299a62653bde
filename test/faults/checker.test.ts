import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOTAL_SUPPLY } from '../../src/ledger/index.ts';
import { checkFiles, checkRun, formatVerdict, readHeals, type Verdict } from './checker.ts';
import type { CommittedTx, FinalState, NodeFinal } from './finalState.ts';
import type { History, HistoryRecord } from './history.ts';

// The checker on a small hand-made run (pure, no process): each kind of violation alone, and a
// clean run. test/faults-checker.test.ts does the same from a real run of four nodes.

const h64 = (n: number): string => n.toString(16).padStart(64, '0');
const A = 'znc1a';
const B = 'znc1b';
const C = 'znc1c';
const T0 = 1_000_000;

function rec(op: string, outcome: HistoryRecord['outcome'], tx: number, extra: Partial<HistoryRecord> = {}): HistoryRecord {
  return { op, client: 'c0', kind: 'transfer', node: 'http://n1', invokedAt: T0, completedAt: T0 + 500, tx: h64(tx), from: A, memo: op, outcome, ...extra };
}

function transfer(hash: number, height: number, from: string, to: string, amount: number, memo: string): CommittedTx {
  return { hash: h64(hash), height, chain: 1, index: 0, kind: 'Transfer', from, to, token: 'ZNC', amount: String(amount), memo };
}

function node(name: string, balances: Record<string, string>): NodeFinal {
  return {
    node: name,
    height: 15,
    heightAfter: 15,
    time: T0 + 15_000,
    lastBlockHash: h64(1015),
    receiptsInFlight: 0,
    mempool: 0,
    halted: null,
    supply: {
      spendable: '0',
      vesting: '0',
      staked: '0',
      unbonding: '0',
      multisig: '0',
      pool: '0',
      anchored: '0',
      inFlight: '0',
      escrow: '0',
      bonded: '0',
      total: TOTAL_SUPPLY.toString(),
      tokens: {},
    },
    balances,
    blocks: Array.from({ length: 15 }, (_, i) => ({ height: i + 1, hash: h64(1001 + i), time: T0 + (i + 1) * 1000, txCount: 0 })),
  };
}

/** Start A 1000, B 1000, C 0 at height 10; op1 A→B 100, op2 B→C 50 (ok); op3 refused; op4 unknown, absent; op5 C→A 10 unknown, committed. */
function run(): { history: History; final: FinalState } {
  const history: History = {
    header: { header: true, chainId: 'test', startedAt: T0, balances: { [A]: '1000', [B]: '1000', [C]: '0' }, balancesAt: 10 },
    records: [
      rec('op1', 'ok', 1, { to: B, amount: '100', height: 11 }),
      rec('op2', 'ok', 2, { from: B, to: C, amount: '50', height: 12 }),
      rec('op3', 'fail', 3, { to: C, amount: '5000', code: 'INSUFFICIENT_FUNDS' }),
      rec('op4', 'unknown', 4, { to: C, amount: '7' }),
      rec('op5', 'unknown', 5, { from: C, to: A, amount: '10' }),
    ],
  };
  const balances = { [A]: '910', [B]: '1050', [C]: '40' };
  const final: FinalState = {
    final: true,
    chainId: 'test',
    collectedAt: T0 + 16_000,
    finishedAt: T0 + 17_000,
    settled: true,
    fromHeight: 1,
    nodes: [node('http://n1', { ...balances }), node('http://n2', { ...balances })],
    txsFrom: 'http://n1',
    txs: [transfer(9, 5, 'znc1funder', A, 1000, 'fund'), transfer(1, 11, A, B, 100, 'op1'), transfer(2, 12, B, C, 50, 'op2'), transfer(5, 13, C, A, 10, 'op5')],
    tasks: {
      [h64(77)]: {
        id: h64(77),
        state: 'done',
        owner: A,
        escrow: '0',
        feeEscrow: '0',
        held: '0',
        feeHeld: '0',
        leases: [{ index: 0, state: 'settled', held: '0', feeHeld: '0' }],
      },
    },
  };
  return { history, final };
}

const kinds = (v: Verdict): string[] => v.violations.map((x) => x.kind).sort();
const addBalance = (f: FinalState, a: string, d: number): void => {
  for (const n of f.nodes) n.balances[a] = String(BigInt(n.balances[a]) + BigInt(d));
};

describe('checker on a hand-made run', () => {
  it('passes a clean run and counts its operations', () => {
    const { history, final } = run();
    const v = checkRun(history, final);
    expect(v.violations).toEqual([]);
    expect(v.valid).toBe(true);
    expect(v.counts.all).toEqual({ ok: 2, fail: 1, unknown: 2, unknownCommitted: 1, unknownAbsent: 1 });
    expect(v.counts.balancesChecked).toBe(6);
    expect(v.counts.heightsCompared).toBe(15);
    expect(formatVerdict(v)).toMatch(/^VALID/);
  });

  it('a transfer committed twice under two hashes (found by its memo)', () => {
    const { history, final } = run();
    final.txs.push(transfer(11, 14, A, B, 100, 'op1'));
    addBalance(final, A, -100);
    addBalance(final, B, 100);
    const v = checkRun(history, final);
    expect(kinds(v)).toEqual(['duplicate']);
    expect(v.violations[0].ops).toEqual(['op1']);
    expect(v.violations[0].heights).toEqual([11, 14]);
  });

  it('an unknown operation committed twice; once is fine', () => {
    const { history, final } = run();
    final.txs.push(transfer(15, 14, C, A, 10, 'op5'));
    addBalance(final, C, -10);
    addBalance(final, A, 10);
    expect(kinds(checkRun(history, final))).toEqual(['duplicate']);
  });

  it('a lost acknowledgement: ok but in no block', () => {
    const { history, final } = run();
    final.txs = final.txs.filter((t) => t.memo !== 'op2');
    addBalance(final, B, 50);
    addBalance(final, C, -50);
    const v = checkRun(history, final);
    expect(kinds(v)).toEqual(['lost']);
    expect(v.violations[0].ops).toEqual(['op2']);
  });

  it('a fork: one violation for consecutive heights with the same split', () => {
    const { history, final } = run();
    final.nodes[1].blocks[13].hash = h64(9999);
    final.nodes[1].blocks[14].hash = h64(9998);
    const v = checkRun(history, final);
    expect(kinds(v)).toEqual(['fork']);
    expect(v.violations[0].heights).toEqual([14, 15]);
    expect(v.violations[0].nodes).toEqual(['http://n1', 'http://n2']);
  });

  it('a balance off by one base unit on one node', () => {
    const { history, final } = run();
    final.nodes[1].balances[C] = '41';
    const v = checkRun(history, final);
    expect(kinds(v)).toEqual(['balance']);
    expect(v.violations[0]).toMatchObject({ accounts: [C], nodes: ['http://n2'] });
    expect(v.violations[0].message).toContain('(+1)');
  });

  it('a refused operation that committed', () => {
    const { history, final } = run();
    history.records[0] = { ...history.records[0], outcome: 'fail', code: 'QUOTA_EXCEEDED', height: undefined };
    expect(kinds(checkRun(history, final))).toEqual(['failed-committed']);
  });

  it('an ok operation at another height than acknowledged', () => {
    const { history, final } = run();
    history.records[1] = { ...history.records[1], height: 13 };
    expect(kinds(checkRun(history, final))).toEqual(['wrong-height']);
  });

  it('a transfer from a workload account that no operation sent', () => {
    const { history, final } = run();
    final.txs.push(transfer(40, 14, A, C, 1, 'nobody'));
    addBalance(final, A, -1);
    addBalance(final, C, 1);
    expect(kinds(checkRun(history, final))).toEqual(['unexpected']);
  });

  it('supply off, value in flight, escrow left in a finished task', () => {
    const { history, final } = run();
    final.nodes[0].supply.total = (TOTAL_SUPPLY + 1n).toString();
    expect(kinds(checkRun(history, final))).toEqual(['supply']);
    const r2 = run();
    r2.final.nodes[1].supply.inFlight = '10';
    r2.final.nodes[1].receiptsInFlight = 1;
    expect(kinds(checkRun(r2.history, r2.final))).toEqual(['in-flight']);
    const r3 = run();
    r3.final.tasks[h64(77)].held = '3';
    r3.final.tasks[h64(77)].leases[0].held = '3';
    expect(kinds(checkRun(r3.history, r3.final))).toEqual(['escrow', 'escrow']);
  });

  it('an account that sent a non-transfer is left out of the balance check', () => {
    const { history, final } = run();
    final.txs.push({ hash: h64(50), height: 14, chain: 1, index: 0, kind: 'PostTask', from: B });
    history.records.push(rec('op6', 'ok', 50, { kind: 'post-task', from: B, height: 14, memo: undefined }));
    addBalance(final, B, -300);
    const v = checkRun(history, final);
    expect(v.violations).toEqual([]);
    expect(v.counts.accountsSkipped).toEqual([B]);
  });

  it('nodes: unreadable, halted, lagging', () => {
    const { history, final } = run();
    final.nodes.push({ node: 'http://n3', error: 'connect ECONNREFUSED' } as NodeFinal);
    final.nodes[1].halted = { reason: 'store failed', height: 15, since: 'x' };
    const lag = node('http://n4', { [A]: '1000', [B]: '1000', [C]: '0' });
    lag.height = lag.heightAfter = 9;
    lag.blocks = lag.blocks.slice(0, 9);
    final.nodes.push(lag);
    expect(kinds(checkRun(history, final))).toEqual(['node-halted', 'node-lagging', 'node-unreadable']);
  });

  it('liveness: commits resume within the bound after a heal, or not', () => {
    const { history, final } = run();
    // Blocks every second up to T0+15 s; an ok op invoked at T0+20 s completed at T0+21 s.
    history.records.push(rec('op7', 'ok', 1, { invokedAt: T0 + 20_000, completedAt: T0 + 21_000 }));
    final.collectedAt = T0 + 120_000;
    const ok = checkRun(history, final, { heals: [{ healedAt: T0 + 3_500, fault: 'partition' }], livenessBoundMs: 5_000 });
    expect(kinds(ok)).toEqual([]);
    expect(ok.counts.heals).toMatchObject({ judged: 1, longestResumeMs: 500 });
    const late = checkRun(history, final, { heals: [{ healedAt: T0 + 15_500, fault: 'pause' }], livenessBoundMs: 5_000 });
    expect(kinds(late)).toEqual(['liveness']);
    const never = checkRun(history, final, { heals: [{ healedAt: T0 + 30_000, fault: 'kill' }], livenessBoundMs: 5_000 });
    expect(kinds(never)).toEqual(['liveness']);
    expect(never.violations[0].message).toContain('no commit after kill');
    // A heal too close to the end of the run is not judged.
    final.collectedAt = T0 + 32_000;
    const unjudged = checkRun(history, final, { heals: [{ healedAt: T0 + 30_000, fault: 'kill' }], livenessBoundMs: 5_000 });
    expect(unjudged.violations).toEqual([]);
    expect(unjudged.counts.heals.unjudged).toBe(1);
  });

  it('checkFiles reads the history, the final state and the heals of a nemesis log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeus-checker-'));
    try {
      const { history, final } = run();
      const hf = join(dir, 'history.jsonl');
      writeFileSync(hf, `${[history.header, ...history.records].map((x) => JSON.stringify(x)).join('\n')}\n{"op":"torn`);
      const ff = join(dir, 'final.json');
      writeFileSync(ff, JSON.stringify(final));
      const nf = join(dir, 'nemesis.jsonl');
      writeFileSync(
        nf,
        `${JSON.stringify({ at: T0, fault: 'partition 2|2', started: true })}\n${JSON.stringify({ healedAt: T0 + 14_200, fault: 'partition 2|2' })}\n`,
      );
      expect(readHeals(nf)).toEqual([{ healedAt: T0 + 14_200, fault: 'partition 2|2' }]);
      const v = checkFiles(hf, ff, nf, { livenessBoundMs: 500 });
      expect(v.violations.map((x) => x.kind)).toEqual(['liveness']);
      expect(v.counts.heals.longestResumeMs).toBe(800);
      expect(formatVerdict(v)).toContain('commits resumed 800 ms after partition 2|2');
      expect(checkFiles(hf, ff, nf).valid).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
