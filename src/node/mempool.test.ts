import { describe, expect, it } from 'vitest';
import { addressFromPublicKey } from '../crypto/index.ts';
import { homeChain, TxKind, ZNC, ZNC_UNIT } from '../ledger/index.ts';
import { commitExecuted, makeTx, testChain } from '../ledger/testing.ts';
import { Mempool } from './mempool.ts';

describe('mempool', () => {
  it('keeps its speculative state across a commit of its own transactions, and judges a refusal again on fresh state', () => {
    const t = testChain({ devAccounts: ['alice', 'zed-0', 'zed-1', 'zed-2', 'zed-3', 'zed-4'] });
    let now = t.ledger.time + 1000;
    const pool = new Mempool(t.ledger, { maxSize: 100, now: () => now });
    // A recipient on another chain than alice, starting from nothing: it can spend only what the receipt brings.
    const alice = addressFromPublicKey(t.keys.alice.publicKey);
    const zedName = ['zed-0', 'zed-1', 'zed-2', 'zed-3', 'zed-4'].find((n) => homeChain(addressFromPublicKey(t.keys[n].publicKey)) !== homeChain(alice))!;
    const zed = addressFromPublicKey(t.keys[zedName].publicKey);
    const drain = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: 9_999_999n * ZNC_UNIT, memo: '' });
    commitExecuted(
      t,
      (() => {
        const e = t.ledger.begin(now);
        expect(e.tryApply(drain)).toBeNull();
        return e.finish();
      })(),
    );
    pool.onCommit([]);
    // zed spends its last ZNC while alice pays it 5 more from her chain.
    const last = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: ZNC_UNIT, memo: '' });
    const pay = makeTx(t, 'alice', TxKind.Transfer, { to: zed, token: ZNC, amount: 5n * ZNC_UNIT, memo: '' });
    pool.add(last);
    pool.add(pay);
    // Height 2 includes both (all pending): the state is kept, not rebuilt.
    now += 100;
    const h2 = t.ledger.begin(now);
    expect(h2.tryApply(last)).toBeNull();
    expect(h2.tryApply(pay)).toBeNull();
    commitExecuted(t, h2.finish());
    expect(pool.onCommit([last.hashHex, pay.hashHex]).size).toBe(0);
    // Height 3 credits zed by receipt: the kept state (zed at 0 ZNC) does not know it.
    now += 100;
    commitExecuted(t, t.ledger.begin(now).finish());
    expect(pool.onCommit([]).size).toBe(0);
    const spend = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: 4n * ZNC_UNIT, memo: '' });
    // Refused on the kept state (no funds there), then judged on fresh state: admitted.
    expect(() => pool.add(spend)).not.toThrow();
    expect(pool.size).toBe(1);
    // A real refusal stays a refusal after the fresh check.
    const tooMuch = makeTx(t, zedName, TxKind.Transfer, { to: alice, token: ZNC, amount: 2n * ZNC_UNIT, memo: '' });
    expect(() => pool.add(tooMuch)).toThrow(/has 1 ZNC; 2 ZNC requested/);
  });

  it('rebuilds after a height that included a transaction it did not hold', () => {
    const t = testChain();
    let now = t.ledger.time + 1000;
    const pool = new Mempool(t.ledger, { maxSize: 100, now: () => now });
    const bob = addressFromPublicKey(t.keys.bob.publicKey);
    const mine = makeTx(t, 'alice', TxKind.Transfer, { to: bob, token: ZNC, amount: 1n, memo: '' }, 0n);
    const foreign = makeTx(t, 'alice', TxKind.Transfer, { to: bob, token: ZNC, amount: 2n, memo: '' }, 0n);
    pool.add(mine);
    now += 100;
    const h = t.ledger.begin(now);
    expect(h.tryApply(foreign)).toBeNull();
    commitExecuted(t, h.finish());
    // Another node's transaction took alice's nonce 0: the pending one no longer applies.
    const dropped = pool.onCommit([foreign.hashHex]);
    expect([...dropped.values()].map(([, e]) => e.code)).toEqual(['NONCE_REPLAYED']);
    expect(pool.size).toBe(0);
  });
});
