import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import {
  decodeTx,
  encodeEntry,
  homeChain,
  InvalidBlockError,
  LedgerError,
  MAIN_CHAIN,
  ReceiptKind,
  readAccount,
  TxKind,
  ZNC,
  type Account,
  type Token,
  type Tx,
} from './index.ts';
import { MarketDriver } from './marketTesting.ts';
import { commitExecuted, makeTx, produce, signUnchecked, testChain, type TestChain } from './testing.ts';
import { accounts, apps, tokens } from './stores.ts';

// One transaction must never stop the chain: what the state would store is checked when the
// transaction is admitted, and anything that still goes wrong while one transaction is applied
// (a bug, a value the state cannot encode) refuses that transaction alone, on every node alike.

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const addr = (t: TestChain, name: string): Uint8Array => addressFromPublicKey(t.keys[name].publicKey);
const publishPayload = (developer: Uint8Array) => ({
  name: 'web',
  version: '1.0',
  digest: DIGEST,
  developer,
  feeToken: ZNC,
  licenseFeePerHour: 1000n,
  requiresLicense: false,
});

/** Replaces an entry of committed state in memory only (its root stays): a stand-in for a bug in a handler. */
function corrupt<T extends object>(t: TestChain, chain: number, key: string, change: (v: T) => T): void {
  const c = t.ledger.chains[chain];
  const v = c.get<T & Account>(key)!;
  c.load(key, change(v) as never, encodeEntry(key, v));
}

/** A sub-token GOLD issued by alice, and alice holding some. */
function withGold(): TestChain {
  const t = testChain();
  produce(t, [makeTx(t, 'alice', TxKind.TokenCreate, { symbol: 'GOLD', name: 'Gold', decimals: 2, anchorRate: 10n, deposit: 100n })]);
  produce(t, []);
  produce(t, []);
  return t;
}

describe('a transaction cannot stop the chain', () => {
  it('a PublishApp whose developer is 20 bytes is refused at admission (the original chain halt)', () => {
    const t = testChain();
    const bytes = signUnchecked(t.keys.bob, {
      chainId: t.genesis.chainId,
      kind: TxKind.PublishApp,
      nonce: 0n,
      payload: publishPayload(addr(t, 'carol').slice(1)),
    });
    let err: unknown;
    try {
      decodeTx(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).code).toBe('INVALID_RECIPIENT');
    expect((err as LedgerError).message).toMatch(/PublishApp\.developer.*21 bytes.*20/);
  });

  it('a PublishApp naming another key as its developer publishes, and tasks of the app pay that developer', () => {
    const m = new MarketDriver(['alice', 'bob', 'carol']);
    m.next([m.tx('bob', TxKind.PublishApp, publishPayload(m.addr('carol')))]);
    const app = apps.get(m.t.ledger.chains[MAIN_CHAIN], 'web', '1.0')!;
    expect(toHex(app.developer)).toBe(m.hex('carol'));
    m.next();
    const id = m.postTask('alice', { app: 'web', version: '1.0', image: '' });
    expect(toHex(m.task(id).developer)).toBe(m.hex('carol'));
    // Without a developer the publisher earns the fee.
    m.next([m.tx('bob', TxKind.PublishApp, { ...publishPayload(new Uint8Array()), version: '2.0' })]);
    expect(toHex(apps.get(m.t.ledger.chains[MAIN_CHAIN], 'web', '2.0')!.developer)).toBe(m.hex('bob'));
  });

  it('an exception while one transaction is applied refuses it alone: reverted, left out of the block, and the chain commits', () => {
    const t = withGold();
    // A broken token entry: redeeming divides by its anchor rate of 0 (a RangeError, not a refusal).
    corrupt<Token>(t, MAIN_CHAIN, tokens.key('GOLD'), (v) => ({ ...v, anchorRate: 0n }));
    const alice = addr(t, 'alice');
    const chain = homeChain(alice);
    const nonce = readAccount(t.ledger.chains[chain], toHex(alice)).nonce;
    const redeem = makeTx(t, 'alice', TxKind.TokenRedeem, { symbol: 'GOLD', amount: 10n });
    const exec = t.ledger.begin(t.ledger.time + 1000);
    const err = exec.tryApply(redeem);
    expect(err?.code).toBe('INTERNAL_ERROR');
    expect(err?.message).toContain(redeem.hashHex);
    expect(err?.message).toMatch(/RangeError/);
    expect(readAccount(exec.contexts[chain].state, toHex(alice)).nonce).toBe(nonce);
    // The same sender's next transaction (same nonce) still goes in the same height.
    t.nonces.set(`alice/${chain}`, nonce);
    const transfer = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: ZNC, amount: 1n, memo: '' });
    expect(exec.tryApply(transfer)).toBeNull();
    const executed = exec.finish();
    expect(executed.txs.flat().map((x: Tx) => x.hashHex)).toEqual([transfer.hashHex]);
    commitExecuted(t, executed);
    expect(produce(t, []).size).toBe(0);
    expect(t.ledger.height).toBe(5);
  });

  it('a write the state cannot encode fails inside the transaction that makes it, not when the block is built', () => {
    const t = testChain();
    const alice = addr(t, 'alice');
    const chain = homeChain(alice);
    // A vesting tranche no encoding can hold (a negative time): any write of alice's account fails.
    corrupt<Account>(t, chain, accounts.key(toHex(alice)), (v) => ({ ...v, vesting: [{ at: -1n, amount: 0n }] }));
    const exec = t.ledger.begin(t.ledger.time + 1000);
    const bad = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: ZNC, amount: 1n, memo: '' });
    const err = exec.tryApply(bad);
    expect(err?.code).toBe('INTERNAL_ERROR');
    expect(err?.message).toMatch(/Account\.vesting/);
    const ok = makeTx(t, 'bob', TxKind.Transfer, { to: addr(t, 'carol'), token: ZNC, amount: 1n, memo: '' });
    expect(exec.tryApply(ok)).toBeNull();
    const executed = exec.finish();
    expect(executed.txs.flat().map((x: Tx) => x.hashHex)).toEqual([ok.hashHex]);
    commitExecuted(t, executed);
    expect(t.ledger.height).toBe(1);
  });

  it('a receipt that cannot be encoded fails where it is emitted', () => {
    const t = testChain();
    const exec = t.ledger.begin(t.ledger.time + 1000);
    expect(() => exec.contexts[1].emit({ kind: ReceiptKind.Credit, address: new Uint8Array(20), token: ZNC, amount: 1n, data: new Uint8Array() })).toThrow(
      /Receipt\.address/,
    );
    expect(exec.outgoing[1]).toEqual([]);
    expect(() => exec.finish()).not.toThrow();
  });

  it('a received block carrying a transaction the ledger fails on is invalid (InvalidBlockError), and the ledger goes on', () => {
    const a = withGold();
    const b = withGold();
    expect(b.ledger.stateRoots().map(toHex)).toEqual(a.ledger.stateRoots().map(toHex));
    corrupt<Token>(b, MAIN_CHAIN, tokens.key('GOLD'), (v) => ({ ...v, anchorRate: 0n }));
    const redeem = makeTx(a, 'alice', TxKind.TokenRedeem, { symbol: 'GOLD', amount: 10n });
    const exec = a.ledger.begin(a.ledger.time + 1000);
    expect(exec.tryApply(redeem)).toBeNull();
    const block = a.ledger.blockFor(exec.finish(), a.keys['bookkeeper-0'].publicKey);
    let err: unknown;
    try {
      b.ledger.executeBlock(block);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidBlockError);
    expect((err as Error).message).toContain(redeem.hashHex);
    expect((err as Error).message).toContain('INTERNAL_ERROR');
    // Not wedged: the next height (without that transaction) executes and commits.
    expect(produce(b, []).size).toBe(0);
    expect(b.ledger.height).toBe(a.ledger.height + 1);
  });
});
