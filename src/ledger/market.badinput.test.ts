import { describe, expect, it } from 'vitest';
import { encodeAddress } from '../crypto/index.ts';
import { LeaseState } from './market/lifecycle.ts';
import { MarketDriver, taskOrder, workerSpec } from './marketTesting.ts';
import { ZNC_UNIT } from './params.ts';
import { TxKind } from './ops/index.ts';
import { decodeTx, signTx } from './tx.ts';

// Bad market input: each refused with a stable code and a message that says why (the CLI
// prints both), and leaving no trace.

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function ready(): { m: MarketDriver; id: Uint8Array } {
  const m = new MarketDriver(['alice', 'bob', 'w1', 'w2', 'small']);
  m.registerWorker('w1');
  m.registerWorker('w2');
  m.registerWorker('small', { cpuMillis: 500, memoryMiB: 512 });
  const id = m.postTask('alice', { bidWindowBlocks: 8 });
  return { m, id };
}

describe('bad market input is refused with a reason', () => {
  it('bids: a worker that does not fit, above the max price, outside the window, not a worker, twice', () => {
    const { m, id } = ready();
    const unfit = m.reject(m.tx('small', TxKind.Bid, { task: id, price: 10_000_000n }));
    expect(unfit.code).toBe('WORKER_UNFIT');
    expect(unfit.message).toMatch(/cpu: has 500 millicores, task needs 1000/);
    expect(unfit.message).toMatch(/memory: has 512 MiB, task needs 1024/);
    const pricey = m.reject(m.tx('w1', TxKind.Bid, { task: id, price: 36_000_001n }));
    expect(pricey.code).toBe('WORKER_UNFIT');
    expect(pricey.message).toMatch(/price: asks 0.36000001 ZNC\/h, task pays at most 0.36 ZNC\/h/);
    expect(m.reject(m.tx('bob', TxKind.Bid, { task: id, price: 1n })).code).toBe('NOT_A_WORKER');
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: 20_000_000n })]);
    expect(m.reject(m.tx('w1', TxKind.Bid, { task: id, price: 19_000_000n })).code).toBe('DUPLICATE_BID');
    m.until(Number(m.task(id).closeHeight));
    const late = m.reject(m.tx('w2', TxKind.Bid, { task: id, price: 20_000_000n }));
    expect(late.code).toBe('BIDDING_CLOSED');
    const unknown = new Uint8Array(32).fill(3);
    expect(m.reject(m.tx('w1', TxKind.Bid, { task: unknown, price: 1n })).code).toBe('TASK_NOT_FOUND');
  });

  it('reports and results: only from the lessee, never for a settled period, never twice', () => {
    const { m, id } = ready();
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: 20_000_000n })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    const usage = { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 1000n };
    expect(m.reject(m.tx('w1', TxKind.ReportUsage, { task: id, lease: 0, seq: 1, ...usage })).code).toBe('LEASE_NOT_RUNNING');
    expect(m.reject(m.tx('w2', TxKind.StartLease, { task: id, lease: 0, endpoint: '' })).code).toBe('NOT_LESSEE');
    m.next([m.tx('w1', TxKind.StartLease, { task: id, lease: 0, endpoint: '' })]);
    const stranger = m.reject(m.tx('w2', TxKind.ReportUsage, { task: id, lease: 0, seq: 1, ...usage }));
    expect(stranger.code).toBe('NOT_LESSEE');
    expect(m.reject(m.tx('alice', TxKind.SubmitResult, { task: id, lease: 0, digest: DIGEST, ...usage })).code).toBe('NOT_LESSEE');
    m.next([m.tx('w1', TxKind.ReportUsage, { task: id, lease: 0, seq: 1, ...usage })]);
    const again = m.reject(m.tx('w1', TxKind.ReportUsage, { task: id, lease: 0, seq: 1, ...usage }));
    expect(again.code).toBe('PERIOD_SETTLED');
    expect(again.message).toMatch(/period 1 of lease 0 was already settled/);
    expect(m.reject(m.tx('w1', TxKind.ReportUsage, { task: id, lease: 0, seq: 3, ...usage })).code).toBe('REPORT_GAP');
    expect(m.reject(m.tx('w1', TxKind.SubmitResult, { task: id, lease: 0, digest: 'sha256:xyz', ...usage })).code).toBe('BAD_DIGEST');
    m.next([m.tx('w1', TxKind.SubmitResult, { task: id, lease: 0, digest: DIGEST, ...usage })]);
    expect(m.lease(id, 0).state).toBe(LeaseState.Completed);
    expect(m.reject(m.tx('w1', TxKind.SubmitResult, { task: id, lease: 0, digest: DIGEST, ...usage })).code).toBe('DUPLICATE_RESULT');
    expect(m.reject(m.tx('w1', TxKind.ReportUsage, { task: id, lease: 0, seq: 2, ...usage })).code).toBe('LEASE_NOT_RUNNING');
    expect(m.reject(m.tx('bob', TxKind.Dispute, { task: id, lease: 0 })).code).toBe('NOT_AUTHORIZED');
    expect(m.reject(m.tx('bob', TxKind.CancelTask, { task: id })).code).toBe('NOT_AUTHORIZED');
  });

  it('tasks: impossible requirements, zero or insufficient escrow, unknown or unlicensed apps, malformed digests', () => {
    const { m } = ready();
    const post = (over: Parameters<typeof taskOrder>[0], who = 'alice') => m.reject(m.tx(who, TxKind.PostTask, taskOrder(over)));
    expect(post({ cpuMillis: 0 }).code).toBe('IMPOSSIBLE_TASK');
    expect(post({ gpuCount: 65 }).message).toMatch(/at most 64 GPUs/);
    expect(post({ gpuModel: 'A100' }).message).toMatch(/no GPU is asked for/);
    expect(post({ runtime: 'vm' }).message).toMatch(/unknown runtime "vm"/);
    expect(post({ kind: 2, redundancy: 2 }).message).toMatch(/a service runs each replica once/);
    expect(post({ maxHours: 0 }).code).toBe('IMPOSSIBLE_TASK');
    expect(post({ bidWindowBlocks: 0 }).code).toBe('IMPOSSIBLE_TASK');
    expect(post({ ports: [80, 80] }).code).toBe('IMPOSSIBLE_TASK');
    expect(post({ maxPricePerHour: 0n }).code).toBe('INVALID_AMOUNT');
    expect(post({ maxPricePerHour: 2n ** 63n, maxHours: 8760, replicas: 64 }).code).toBe('INVALID_AMOUNT');
    // Bob's whole balance cannot cover 64 replicas × 8760 hours at 1,000 ZNC an hour.
    const poor = post({ maxPricePerHour: 1000n * ZNC_UNIT, maxHours: 8760, replicas: 64 }, 'bob');
    expect(poor.code).toBe('INSUFFICIENT_FUNDS');
    expect(post({ image: 'sha256:ABC' }).code).toBe('BAD_DIGEST');
    expect(post({ image: '' }).code).toBe('INVALID_ARGUMENT');
    expect(post({ app: 'nope', version: '1', image: '' }).code).toBe('UNKNOWN_APP');
    m.next([
      m.tx('bob', TxKind.PublishApp, {
        name: 'lic',
        version: '1',
        digest: DIGEST,
        developer: new Uint8Array(),
        feeToken: 'ZNC',
        licenseFeePerHour: 0n,
        requiresLicense: true,
      }),
    ]);
    expect(post({ app: 'lic', version: '1', image: '' }).code).toBe('LICENSE_REQUIRED');
    m.next([m.tx('alice', TxKind.AcquireLicense, { name: 'lic' })]);
    m.next([m.tx('alice', TxKind.PostTask, taskOrder({ app: 'lic', version: '1', image: '' }))]);
  });

  it('apps and workers: malformed digests, taken names, bonds below the minimum or beyond the stake', () => {
    const { m } = ready();
    const app = (over: Record<string, unknown>, who = 'alice') =>
      m.reject(
        m.tx(who, TxKind.PublishApp, {
          name: 'web',
          version: '1',
          digest: DIGEST,
          developer: new Uint8Array(),
          feeToken: 'ZNC',
          licenseFeePerHour: 1n,
          requiresLicense: false,
          ...over,
        }),
      );
    expect(app({ digest: 'sha256:1234' }).code).toBe('BAD_DIGEST');
    expect(app({ digest: `md5:${'a'.repeat(32)}` }).code).toBe('BAD_DIGEST');
    expect(app({ name: 'Web!' }).code).toBe('INVALID_ARGUMENT');
    // A name that is an address is that account's registry namespace (docs/DDN.md), not an app's.
    const squat = app({ name: encodeAddress(m.addr('bob')) });
    expect([squat.code, squat.message]).toEqual(['INVALID_ARGUMENT', expect.stringMatching(/an address is not an app name/)]);
    expect(app({ feeToken: 'NOPE' }).code).toBe('UNKNOWN_TOKEN');
    m.next([
      m.tx('alice', TxKind.PublishApp, {
        name: 'web',
        version: '1',
        digest: DIGEST,
        developer: new Uint8Array(),
        feeToken: 'ZNC',
        licenseFeePerHour: 1n,
        requiresLicense: false,
      }),
    ]);
    expect(app({}).code).toBe('APP_EXISTS');
    expect(app({ version: '2' }, 'bob').code).toBe('NOT_AUTHORIZED');
    expect(m.reject(m.tx('bob', TxKind.RegisterWorker, workerSpec({ bond: 1n }))).code).toBe('BOND_TOO_SMALL');
    expect(m.reject(m.tx('bob', TxKind.RegisterWorker, workerSpec())).code).toBe('INSUFFICIENT_STAKE');
    expect(m.reject(m.tx('w1', TxKind.RegisterWorker, workerSpec())).code).toBe('ALREADY_REGISTERED');
    expect(m.reject(m.tx('w1', TxKind.UpdateWorker, { ...workerSpec(), runtimes: ['vm'], addBond: 0n })).code).toBe('INVALID_ARGUMENT');
  });

  it('a task id that names no inner chain is refused before execution', () => {
    const { m } = ready();
    const bytes = signTx(m.t.keys.w1, { chainId: m.t.genesis.chainId, kind: TxKind.Bid, nonce: 0n, payload: { task: new Uint8Array(32), price: 1n } });
    expect(() => decodeTx(bytes)).toThrow(/task id names no inner chain/);
  });
});
