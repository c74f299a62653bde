import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { balanceOf, checkSupply, homeChain, readAccount, TxKind, ZNC, ZNC_UNIT } from './index.ts';
import { makeTx, produce, testChain, type TestChain } from './testing.ts';
import { accounts } from './stores.ts';

const addr = (t: TestChain, name: string) => addressFromPublicKey(t.keys[name].publicKey);
const bal = (t: TestChain, name: string, token = ZNC): bigint => {
  const a = addr(t, name);
  return balanceOf(readAccount(t.ledger.chains[homeChain(a)], toHex(a)), token);
};

describe('ledger', () => {
  it('moves ZNC within and across inner chains, conserving supply', () => {
    const t = testChain();
    checkSupply(t.ledger);
    const a0 = bal(t, 'alice');
    const tx = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: ZNC, amount: 5n * ZNC_UNIT, memo: '' });
    expect(produce(t, [tx]).size).toBe(0);
    checkSupply(t.ledger);
    const cross = homeChain(addr(t, 'alice')) !== homeChain(addr(t, 'bob'));
    expect(bal(t, 'alice')).toBe(a0 - 5n * ZNC_UNIT);
    if (cross) {
      expect(t.ledger.inFlight.length).toBe(1);
      produce(t, []);
    }
    expect(bal(t, 'bob')).toBe(a0 + 5n * ZNC_UNIT);
    checkSupply(t.ledger);
  });

  it('rejects replays and insufficient funds without changing state', () => {
    const t = testChain();
    const tx = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: ZNC, amount: 1n, memo: '' });
    produce(t, [tx]);
    const rej = produce(t, [tx]);
    expect(rej.get(tx.hashHex)?.code).toBe('NONCE_REPLAYED');
    const big = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: ZNC, amount: 10n ** 30n % (1n << 63n), memo: '' });
    expect(produce(t, [big]).get(big.hashHex)?.code).toBe('INSUFFICIENT_FUNDS');
    const a = accounts.get(t.ledger.chains[homeChain(addr(t, 'alice'))], toHex(addr(t, 'alice')))!;
    expect(a.nonce).toBe(1n);
  });

  it('issues, converts and redeems sub-tokens at the anchor rate', () => {
    const t = testChain();
    produce(t, [
      makeTx(t, 'alice', TxKind.TokenCreate, { symbol: 'GOLD', name: 'Gold', decimals: 8, anchorRate: 10n, deposit: 1000n * ZNC_UNIT }),
      makeTx(t, 'bob', TxKind.TokenCreate, { symbol: 'SILV', name: 'Silver', decimals: 8, anchorRate: 100n, deposit: 10n * ZNC_UNIT }),
    ]);
    checkSupply(t.ledger);
    produce(t, []);
    produce(t, []);
    checkSupply(t.ledger);
    expect(bal(t, 'alice', 'GOLD')).toBe(10_000n * ZNC_UNIT);
    const conv = makeTx(t, 'alice', TxKind.TokenConvert, { from: 'GOLD', to: 'SILV', amount: 50n * ZNC_UNIT });
    expect(produce(t, [conv]).size).toBe(0);
    produce(t, []);
    produce(t, []);
    checkSupply(t.ledger);
    expect(bal(t, 'alice', 'SILV')).toBe(500n * ZNC_UNIT);
    const before = bal(t, 'alice');
    expect(produce(t, [makeTx(t, 'alice', TxKind.TokenRedeem, { symbol: 'SILV', amount: 100n * ZNC_UNIT })]).size).toBe(0);
    produce(t, []);
    produce(t, []);
    expect(bal(t, 'alice')).toBe(before + ZNC_UNIT);
    checkSupply(t.ledger);
  });
});
