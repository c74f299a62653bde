import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey } from '../crypto/index.ts';
import { readAccount, taskIdFor, TxKind, ZNC, ZNC_UNIT, type LedgerError, type Tx } from '../ledger/index.ts';
import { MarketDriver } from '../ledger/marketTesting.ts';
import { actionTx, DEVS, publishAppTxs, registerWorkerTxs, USERS, WORKERS } from '../ledger/marketTraffic.ts';
import { makeTx } from '../ledger/testing.ts';
import { Mempool } from './mempool.ts';
import { ParallelExecutor } from './parallelExec.ts';

// A mempool whose inner chains are judged on worker threads (the speculative height of each
// partition kept there, src/node/parallelExec.ts) must decide exactly as one that judges every
// chain on the calling thread: for random batches of transfers (many crossing chains, so receipts
// land at the next height; right, repeated, early and late nonces; amounts beyond the balance) and
// market transactions, and random heights committed in between (built from the pool, sometimes
// with a transaction the pool never held, sometimes after a pause that ages the speculative
// state), both pools give every transaction the same answer and code, drop the same pending ones
// with the same reasons, and keep the same pending transactions in the same order.

const RUNS = Number(process.env.ZEUS_MEMPOOL_PROPERTY_RUNS ?? 10);
const NAMES = [...USERS, ...WORKERS, ...DEVS];

const action = fc.record({
  kind: fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 0, max: 14 }) }, { weight: 4, arbitrary: fc.constant(-1) }),
  actor: fc.nat(),
  pick: fc.nat(),
  n: fc.nat({ max: 1_000_000 }),
  flag: fc.boolean(),
  nonceShift: fc.constantFrom(0, 0, 0, 0, 1, -1, 3),
  again: fc.constantFrom(false, false, false, true),
});
const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('batch' as const), actions: fc.array(action, { minLength: 1, maxLength: 14 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('commit' as const), foreign: fc.boolean(), skip: fc.nat({ max: 3 }), pauseMs: fc.constantFrom(0, 0, 2_000) }),
  },
);
const plan = fc.record({ threads: fc.constantFrom(2, 3), maxSize: fc.constantFrom(12, 400), steps: fc.array(step, { minLength: 8, maxLength: 24 }) });

const codes = (rs: (LedgerError | null)[]): (string | null)[] => rs.map((r) => (r ? `${r.code}: ${r.message}` : null));
const dropsOf = (m: Map<string, [Tx, LedgerError]>): string[] => [...m].map(([h, [, e]]) => `${h} ${e.code}: ${e.message}`).sort();

const executors: ParallelExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((e) => e.close()));
});

describe('the mempool with its inner chains judged on worker threads', () => {
  it('admits, refuses, drops and orders exactly as the mempool that judges everything on one thread', async () => {
    const seen = { admitted: 0, refused: 0, dropped: 0, remote: 0, codes: new Set<string>(), byCode: {} as Record<string, number> };
    await fc.assert(
      fc.asyncProperty(plan, async ({ threads, maxSize, steps }) => {
        const m = new MarketDriver(NAMES, { reviewBlocks: 6, startDeadlineBlocks: 3, reportDeadlineBlocks: 4, graceBlocks: 2, lowEscrowMs: 60_000 });
        WORKERS.forEach((w) => m.next([m.tx(w, TxKind.Stake, { amount: 500n * ZNC_UNIT })]));
        m.next(registerWorkerTxs(m));
        m.next(publishAppTxs(m));
        const ledger = m.t.ledger;
        let now = ledger.time + 1;
        const drops: Record<'one' | 'threads', string[]> = { one: [], threads: [] };
        const pool = (name: 'one' | 'threads'): Mempool =>
          new Mempool(ledger, { maxSize, now: () => now, onDrop: (tx, e) => drops[name].push(`${tx.hashHex} ${e.code}: ${e.message}`) });
        const one = pool('one');
        const onThreads = pool('threads');
        const executor = await ParallelExecutor.start(ledger, threads);
        executors.push(executor);
        await onThreads.attach(executor);
        const remoteChains = new Set(executor.partitions.flat());
        const tasks: Uint8Array[] = [];
        const sent: Tx[] = [];
        for (const s of steps) {
          if (s.type === 'batch') {
            const batch: Tx[] = [];
            for (const a of s.actions) {
              if (a.again && sent.length > 0) {
                batch.push(sent[a.pick % sent.length]);
                continue;
              }
              if (a.kind >= 0) {
                const tx = actionTx(m, tasks, a);
                if (tx) batch.push(tx);
                continue;
              }
              // A transfer with the nonce the pool expects next, or one off it.
              const from = NAMES[a.actor % NAMES.length];
              const to = addressFromPublicKey(m.t.keys[NAMES[a.pick % NAMES.length]].publicKey);
              // Now and then more than the sender holds (about 1 in 8).
              const payload = {
                to,
                token: ZNC,
                amount: a.flag && a.n % 4 === 0 ? BigInt(1 + a.n) * 4_000n * ZNC_UNIT : BigInt(1 + (a.n % 1000)) * ZNC_UNIT,
                memo: '',
              };
              const probe = makeTx(m.t, from, TxKind.Transfer, payload, 0n);
              const committed = readAccount(ledger.chains[probe.chain], probe.fromHex).nonce;
              const pending = BigInt(one.list().filter((t) => t.fromHex === probe.fromHex && t.chain === probe.chain).length);
              const nonce =
                committed + pending + BigInt(a.nonceShift) + BigInt(batch.filter((t) => t.fromHex === probe.fromHex && t.chain === probe.chain).length);
              batch.push(makeTx(m.t, from, TxKind.Transfer, payload, nonce < 0n ? 0n : nonce));
            }
            sent.push(...batch);
            const [a, b] = await Promise.all([one.addMany(batch), onThreads.addMany(batch)]);
            expect(codes(b)).toEqual(codes(a));
            for (const [i, r] of a.entries()) {
              if (r) {
                seen.refused++;
                seen.codes.add(r.code);
                seen.byCode[r.code] = (seen.byCode[r.code] ?? 0) + 1;
              } else {
                seen.admitted++;
                if (remoteChains.has(batch[i].chain)) seen.remote++;
              }
            }
          } else {
            // A height built from the pool as a proposer builds it (in the pool's order, a full
            // segment leaving the rest for later), sometimes with another node's transaction first.
            now += s.pauseMs + 200;
            ledger.time = Math.max(ledger.time, now - 200);
            const listed = one.list().filter((_, i) => s.skip === 0 || i % (s.skip + 1) !== 0);
            const foreign = s.foreign && sent.length > 0 ? [sent[sent.length - 1]] : [];
            const rejected = m.next([...foreign, ...listed], true);
            const refused = [...rejected].filter(([h, e]) => e.code !== 'MEMPOOL_FULL' && one.has(h)).map(([h]) => h);
            const included = [...foreign, ...listed].map((t) => t.hashHex).filter((h) => !rejected.has(h));
            const [a, b] = await Promise.all([one.onCommit(included, refused), onThreads.onCommit(included, refused)]);
            expect(dropsOf(b)).toEqual(dropsOf(a));
            seen.dropped += a.size;
            for (const tx of [...foreign, ...listed]) if (tx.kind === TxKind.PostTask && !rejected.has(tx.hashHex)) tasks.push(taskIdFor(tx.hash, tx.chain));
          }
          expect(onThreads.list().map((t) => t.hashHex)).toEqual(one.list().map((t) => t.hashHex));
          expect([...drops.threads].sort()).toEqual([...drops.one].sort());
        }
        await executor.close();
      }),
      { numRuns: RUNS },
    );
    // Not vacuous: transactions of the workers' chains were admitted there, others refused for
    // their nonce and their funds, and pending ones dropped by a later check.
    expect(seen.remote).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.codes).toContain('DUPLICATE_TX');
    expect([...seen.codes].some((c) => c.startsWith('NONCE'))).toBe(true);
    expect(seen.codes).toContain('INSUFFICIENT_FUNDS');
    expect(seen.dropped + seen.refused).toBeGreaterThan(0);
    console.log(
      `mempool on threads: ${seen.admitted} admitted (${seen.remote} on worker chains), ${seen.refused} refused (${JSON.stringify(seen.byCode)}), ${seen.dropped} dropped after commits`,
    );
  }, 300_000);
});
