import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MarketDriver } from '../ledger/marketTesting.ts';
import { TxKind, ZNC, ZNC_UNIT } from '../ledger/index.client.ts';
import { taskEscrow } from './quote.ts';

// The escrow the CLI, console and SDK show before a task is posted must be what PostTask takes.

describe('taskEscrow', () => {
  it('is what the ledger moves into escrow when the task is posted', () => {
    const m = new MarketDriver(['alice', 'dev']);
    m.next([
      m.tx('dev', TxKind.PublishApp, {
        name: 'paid',
        version: '1',
        digest: `sha256:${'cd'.repeat(32)}`,
        developer: new Uint8Array(),
        feeToken: ZNC,
        licenseFeePerHour: 3_600_000n,
        requiresLicense: false,
      }),
    ]);
    fc.assert(
      fc.property(
        fc.record({
          maxPricePerHour: fc.bigInt({ min: 1n, max: ZNC_UNIT }),
          maxHours: fc.integer({ min: 1, max: 20 }),
          replicas: fc.integer({ min: 1, max: 4 }),
          redundancy: fc.integer({ min: 1, max: 3 }),
          withApp: fc.boolean(),
        }),
        ({ withApp, ...order }) => {
          const id = m.postTask('alice', { ...order, ...(withApp ? { app: 'paid', version: '1', image: '' } : {}) });
          const t = m.task(id);
          const want = taskEscrow({ ...order, licenseFeePerHour: withApp ? 3_600_000n : 0n, feeToken: ZNC });
          expect({ escrow: t.escrow, feeEscrow: t.feeEscrow }).toEqual(want);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('holds a fee in a sub-token apart from the ZNC escrow', () => {
    const terms = { maxPricePerHour: 10n, maxHours: 3, replicas: 2, redundancy: 2, licenseFeePerHour: 5n };
    expect(taskEscrow({ ...terms, feeToken: 'GOLD' })).toEqual({ escrow: 120n, feeEscrow: 60n });
    expect(taskEscrow({ ...terms, feeToken: ZNC })).toEqual({ escrow: 180n, feeEscrow: 0n });
  });
});
