import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import { balanceOf, checkSupply, homeChain, MAIN_CHAIN, readAccount, ReceiptKind, stakedOf, TxKind, ZNC, ZNC_UNIT, type Tx } from './index.ts';
import { makeTx, produce, testChain, type TestChain } from './testing.ts';

// Zero fees: each account may send freeQuota transactions per window, plus one per
// quotaStakeUnit of ZNC staked (as committed on the main chain).

const GENESIS = 1_700_000_000_000; // a multiple of the window, so windows start at GENESIS + k × WINDOW
const WINDOW = 10_000;
const STAKE_UNIT = 10n * ZNC_UNIT;
const params = { freeQuota: 5, quotaWindowMs: WINDOW, quotaStakeUnit: STAKE_UNIT.toString() };

const chainOf = (): TestChain => testChain({ genesisTime: GENESIS, params });
const addr = (t: TestChain, name: string): Uint8Array => addressFromPublicKey(t.keys[name].publicKey);
const home = (t: TestChain, name: string): number => homeChain(addr(t, name));
const accountOf = (t: TestChain, name: string, chain = home(t, name)) => readAccount(t.ledger.chains[chain], toHex(addr(t, name)));
const nonceOf = (t: TestChain, name: string, chain = home(t, name)): bigint => accountOf(t, name, chain).nonce;

/** `count` transfers of 1 base unit with consecutive nonces from `nonce`. */
function transfers(t: TestChain, from: string, to: string, count: number, nonce: bigint, amount = 1n): Tx[] {
  return Array.from({ length: count }, (_, i) => makeTx(t, from, TxKind.Transfer, { to: addr(t, to), token: ZNC, amount, memo: `q${i}` }, nonce + BigInt(i)));
}

const hexRoots = (t: TestChain): string[] => t.ledger.stateRoots().map(toHex);

describe('zero-fee quota', () => {
  it('rejects the transaction after the free quota with OVER_QUOTA and leaves no trace', () => {
    const t = chainOf();
    const a0 = balanceOf(accountOf(t, 'alice'), ZNC);
    const six = transfers(t, 'alice', 'bob', 6, 0n);
    const bobs = transfers(t, 'bob', 'carol', 5, 0n);
    const rej = produce(t, [...six, ...bobs], GENESIS + 1000);
    expect([...rej.keys()]).toEqual([six[5].hashHex]);
    expect(rej.get(six[5].hashHex)?.code).toBe('OVER_QUOTA');
    // Nonce, balance and quota counter as if the sixth transaction had never been sent.
    const acc = accountOf(t, 'alice');
    expect(acc.nonce).toBe(5n);
    expect(acc.quotaUsed).toBe(5);
    expect(balanceOf(acc, ZNC)).toBe(a0 - 5n);
    checkSupply(t.ledger);

    // Byte for byte the same state as a ledger that never saw it.
    const u = chainOf();
    expect(produce(u, [...six.slice(0, 5), ...bobs], GENESIS + 1000).size).toBe(0);
    expect(hexRoots(u)).toEqual(hexRoots(t));
    expect(u.ledger.inFlight.length).toBe(t.ledger.inFlight.length);

    // The window spans heights: later in the same window alice is still out of quota.
    const late = transfers(t, 'alice', 'bob', 1, 5n);
    expect(produce(t, late, GENESIS + WINDOW - 1).get(late[0].hashHex)?.code).toBe('OVER_QUOTA');
    expect(nonceOf(t, 'alice')).toBe(5n);

    // A new window resets the count.
    const next = transfers(t, 'alice', 'bob', 6, 5n);
    const rej2 = produce(t, next, GENESIS + WINDOW);
    expect([...rej2.keys()]).toEqual([next[5].hashHex]);
    expect(rej2.get(next[5].hashHex)?.code).toBe('OVER_QUOTA');
    expect(nonceOf(t, 'alice')).toBe(10n);
    expect(balanceOf(accountOf(t, 'alice'), ZNC)).toBe(a0 - 10n);
    checkSupply(t.ledger);
  });

  it('does not count rejected transactions against the quota', () => {
    const t = chainOf();
    const n = nonceOf(t, 'alice');
    const tooBig = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: ZNC, amount: 1n << 62n, memo: '' }, n);
    const unknown = makeTx(t, 'alice', TxKind.Transfer, { to: addr(t, 'bob'), token: 'NOPE', amount: 1n, memo: '' }, n);
    const five = transfers(t, 'alice', 'bob', 5, n);
    const sixth = transfers(t, 'alice', 'bob', 1, n + 5n);
    const rej = produce(t, [tooBig, unknown, ...five, ...sixth], GENESIS + 500);
    expect(rej.get(tooBig.hashHex)?.code).toBe('INSUFFICIENT_FUNDS');
    expect(rej.get(unknown.hashHex)?.code).toBe('UNKNOWN_TOKEN');
    for (const tx of five) expect(rej.has(tx.hashHex)).toBe(false);
    expect(rej.get(sixth[0].hashHex)?.code).toBe('OVER_QUOTA');
    expect(accountOf(t, 'alice').quotaUsed).toBe(5);
  });

  it('raises the limit by one per quotaStakeUnit staked, once the stake has landed on main', () => {
    const t = chainOf();
    const alice = addr(t, 'alice');
    const chain = home(t, 'alice');
    const a0 = balanceOf(accountOf(t, 'alice'), ZNC);

    // Height 1 (window 0): the stake is debited on the home chain; it counts as one of the five.
    const stakeTx = makeTx(t, 'alice', TxKind.Stake, { amount: 3n * STAKE_UNIT }, 0n);
    let batch = [stakeTx, ...transfers(t, 'alice', 'bob', 5, 1n)];
    let rej = produce(t, batch, GENESIS + 1000);
    expect([...rej.keys()]).toEqual([batch[5].hashHex]);
    expect(rej.get(batch[5].hashHex)?.code).toBe('OVER_QUOTA');
    expect(balanceOf(accountOf(t, 'alice'), ZNC)).toBe(a0 - 3n * STAKE_UNIT - 4n);
    expect(stakedOf(t.ledger.chains[MAIN_CHAIN], toHex(alice))).toBe(0n);
    expect(t.ledger.inFlight.some((r) => r.kind === ReceiptKind.StakeDeposit && toHex(r.address) === toHex(alice))).toBe(true);
    checkSupply(t.ledger);

    // Height 2 (window 1): main credits the stake during this height, but the inner chain
    // reads main as committed at the previous height, so the limit is still five.
    batch = transfers(t, 'alice', 'bob', 6, 5n);
    rej = produce(t, batch, GENESIS + WINDOW);
    expect([...rej.keys()]).toEqual([batch[5].hashHex]);
    expect(rej.get(batch[5].hashHex)?.code).toBe('OVER_QUOTA');
    expect(stakedOf(t.ledger.chains[MAIN_CHAIN], toHex(alice))).toBe(3n * STAKE_UNIT);
    checkSupply(t.ledger);

    // Height 3 (window 2): the stake has landed; 5 + 3 transactions are allowed.
    batch = transfers(t, 'alice', 'bob', 9, 10n);
    rej = produce(t, batch, GENESIS + 2 * WINDOW);
    expect([...rej.keys()]).toEqual([batch[8].hashHex]);
    expect(rej.get(batch[8].hashHex)?.code).toBe('OVER_QUOTA');
    expect(nonceOf(t, 'alice', chain)).toBe(18n);

    // Unstaking (on main) lowers it again: 2 of the 3 units leave, the limit becomes 6.
    const unstake = makeTx(t, 'alice', TxKind.Unstake, { amount: 2n * STAKE_UNIT }, nonceOf(t, 'alice', MAIN_CHAIN));
    expect(produce(t, [unstake], GENESIS + 2 * WINDOW + 1).size).toBe(0);
    expect(stakedOf(t.ledger.chains[MAIN_CHAIN], toHex(alice))).toBe(STAKE_UNIT);
    batch = transfers(t, 'alice', 'bob', 7, 18n);
    rej = produce(t, batch, GENESIS + 3 * WINDOW);
    expect([...rej.keys()]).toEqual([batch[6].hashHex]);
    expect(rej.get(batch[6].hashHex)?.code).toBe('OVER_QUOTA');
    checkSupply(t.ledger);

    // A stake just under one unit more adds nothing.
    const small = makeTx(t, 'alice', TxKind.Stake, { amount: STAKE_UNIT - 1n }, 24n);
    expect(produce(t, [small], GENESIS + 4 * WINDOW).size).toBe(0);
    produce(t, [], GENESIS + 4 * WINDOW + 1);
    expect(stakedOf(t.ledger.chains[MAIN_CHAIN], toHex(alice))).toBe(2n * STAKE_UNIT - 1n);
    batch = transfers(t, 'alice', 'bob', 7, 25n);
    rej = produce(t, batch, GENESIS + 5 * WINDOW);
    expect([...rej.keys()]).toEqual([batch[6].hashHex]);
    checkSupply(t.ledger);
  });
});
