import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { MarketDriver } from './marketTesting.ts';
import { CHAIN_COUNT, TOTAL_SUPPLY, ZNC } from './params.ts';
import { ledgerReader } from './read.ts';
import { TxKind } from './ops/index.ts';
import { homeChain } from './routing.ts';

// The ledger's read interface answers from the chain each thing lives on, and follows the ledger
// as heights commit.

describe('ledgerReader', () => {
  it('reads accounts, workers, apps, tasks, bids and leases from the chains that hold them', () => {
    const m = new MarketDriver(['alice', 'bob', 'dev', 'w2', 'w1']);
    const r = ledgerReader(m.t.ledger);
    // Registration order, not address order.
    m.registerWorker('w2');
    m.registerWorker('w1');
    expect(r.workers().map(([hex]) => hex)).toEqual([m.hex('w2'), m.hex('w1')]);
    expect(r.worker(m.hex('w1'))).toEqual(m.worker('w1'));
    expect(r.worker(m.hex('alice'))).toBeUndefined();

    m.next([
      m.tx('dev', TxKind.PublishApp, {
        name: 'render',
        version: '1.0',
        digest: `sha256:${'cd'.repeat(32)}`,
        developer: new Uint8Array(),
        feeToken: ZNC,
        licenseFeePerHour: 0n,
        requiresLicense: false,
      }),
      m.tx('dev', TxKind.PublishApp, {
        name: 'render',
        version: '2.0',
        digest: `sha256:${'ce'.repeat(32)}`,
        developer: new Uint8Array(),
        feeToken: ZNC,
        licenseFeePerHour: 0n,
        requiresLicense: false,
      }),
    ]);
    m.next([m.tx('bob', TxKind.AcquireLicense, { name: 'render' })]);
    expect(r.appNames().map(([name]) => name)).toEqual(['render']);
    expect(r.appVersions('render').map((a) => a.version)).toEqual(['1.0', '2.0']);
    expect(r.licensees('render')).toEqual([m.hex('bob')]);
    expect(r.app('render', '3.0')).toBeUndefined();
    expect(r.appName('render@1.0')).toBeUndefined();

    const a = m.postTask('alice');
    const b = m.postTask('bob');
    m.next([m.tx('w1', TxKind.Bid, { task: a, price: 1_000n }), m.tx('w2', TxKind.Bid, { task: a, price: 2_000n })]);
    m.until(Number(m.task(a).closeHeight) + 1);
    const ids = r.tasks().map(([id]) => id);
    expect(ids.sort()).toEqual([toHex(a), toHex(b)].sort());
    // Chain by chain: a task is listed with the chain its id names.
    expect(r.tasks().map(([id]) => Number.parseInt(id.slice(0, 2), 16))).toEqual(
      [...ids.map((id) => Number.parseInt(id.slice(0, 2), 16))].sort((x, y) => x - y),
    );
    expect(r.task(toHex(a))).toEqual(m.task(a));
    expect(r.bid(toHex(a), 1)!.price).toBe(2_000n);
    expect(r.lease(toHex(a), 0)).toEqual(m.lease(a, 0));
    expect(r.leases().map(([id, i]) => [id, i])).toEqual([[toHex(a), 0]]);
    // An id naming no inner chain names no task (the API refuses such ids before asking).
    expect(r.task(`00${toHex(a).slice(2)}`)).toBeUndefined();
    expect(r.task(`${CHAIN_COUNT.toString(16).padStart(2, '0')}${toHex(a).slice(2)}`)).toBeUndefined();

    // An account's balances on its home chain; its nonce on each chain it sent from.
    const alice = m.hex('alice');
    const home = homeChain(m.addr('alice'));
    expect(r.account(alice).balances[ZNC]).toBe(m.znc('alice'));
    expect(r.nextNonce(home, alice)).toBe(r.accountOn(home, alice)!.nonce);
    expect(r.nextNonce(home, alice) > 0n).toBe(true);
    expect(r.height).toBe(m.height);
    expect(r.supply().total).toBe(TOTAL_SUPPLY);
  });
});
