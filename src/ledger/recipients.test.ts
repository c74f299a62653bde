import { describe, expect, it } from 'vitest';
import type { ObjectSchema } from '../codec/index.ts';
import { addressFromPublicKey, addressOf, type AddressKind, encodeAddress, sha256, systemAddress, toHex, utf8 } from '../crypto/index.ts';
import {
  balanceOf,
  buildDevGenesis,
  DEV_GENESIS_KEYS,
  decodeTx,
  genesisMultisigAddress,
  homeChain,
  LedgerError,
  MAIN_CHAIN,
  multisigAddress,
  PayloadSchemas,
  readAccount,
  rewardsPoolAddress,
  signTx,
  TX_KIND_NAMES,
  TxKind,
  validateGenesis,
  WORKER_DIVIDEND,
  ZNC,
  ZNC_UNIT,
  type Genesis,
} from './index.ts';
import { makeTx, produce, signUnchecked, testChain, testKey, type TestChain } from './testing.ts';
import { accounts, apps, proposals } from './stores.ts';

// Value sent where nobody can reach it: every transaction that names an address to receive value
// or rights refuses one that is not a key address, an existing multisig or a system account of the
// ledger, on the sending chain and before anything moves.

const DIGEST = `sha256:${'ab'.repeat(32)}`;
/** An address whose kind byte names no kind of account. */
const undefinedKind = (): Uint8Array => addressOf(0xee as AddressKind, sha256(utf8('nobody')));
/** A system address the ledger has no account for. */
const madeUpSystem = (): Uint8Array => systemAddress('made-up');
const addr = (t: TestChain, name: string): Uint8Array => addressFromPublicKey(t.keys[name].publicKey);
const znc = (t: TestChain, a: Uint8Array, token = ZNC): bigint => balanceOf(readAccount(t.ledger.chains[homeChain(a)], toHex(a)), token);

/** The ledger's refusal of a transaction's bytes at decoding (admission), or undefined when it decodes. */
function decodeRefusal(bytes: Uint8Array): LedgerError | undefined {
  try {
    decodeTx(bytes);
    return undefined;
  } catch (e) {
    if (e instanceof LedgerError) return e;
    throw e;
  }
}

/** A payload of a schema with every field at a neutral value (addresses: a key address). */
function neutral(schema: ObjectSchema, key: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(schema.fields)) {
    const t = def.type;
    if (typeof t === 'object' && 'array' in t) out[name] = [];
    else if (t === 'uint32') out[name] = 1;
    else if (t === 'uint64') out[name] = 1n;
    else if (t === 'bool') out[name] = false;
    else if (t === 'string') out[name] = '';
    else if (t === 'bytes')
      out[name] =
        def.length === 21 || def.max === 21 ? key : def.length === 32 && name === 'task' ? new Uint8Array(32).fill(1) : new Uint8Array(def.length ?? 0);
    else out[name] = neutral(t, key);
  }
  return out;
}

/** Every address-carrying field of every payload: [kind, field, is-an-array, may-be-empty]. */
function addressFields(): [number, string, boolean, boolean][] {
  const out: [number, string, boolean, boolean][] = [];
  for (const [kind, schema] of Object.entries(PayloadSchemas as Record<number, ObjectSchema>)) {
    for (const [name, def] of Object.entries(schema.fields)) {
      const t = def.type;
      const isArray = typeof t === 'object' && 'array' in t;
      const scalar = isArray ? t.array : t;
      if (scalar === 'bytes' && (def.length === 21 || def.max === 21)) out.push([Number(kind), name, isArray, def.length === undefined]);
    }
  }
  return out;
}

describe('recipients', () => {
  it('every address field of every kind refuses, at decoding, an address of no kind or of the wrong length', () => {
    const t = testChain();
    const fields = addressFields();
    // Not vacuous: the kinds that name an address to pay or to trust are all here.
    expect(fields.map(([k, f]) => `${TX_KIND_NAMES[k]}.${f}`)).toEqual(
      expect.arrayContaining([
        'Transfer.to',
        'MultisigPropose.to',
        'PublishApp.developer',
        'MultisigCreate.members',
        'Delegate.proxy',
        'VoteBookkeepers.candidates',
        'AcceptBid.worker',
      ]),
    );
    for (const [kind, field, isArray] of fields) {
      const schema = (PayloadSchemas as Record<number, ObjectSchema>)[kind];
      for (const bad of [undefinedKind(), addr(t, 'bob').slice(0, 20), addressOf(3 as AddressKind, sha256(utf8('x')))]) {
        const payload = { ...neutral(schema, addr(t, 'bob')), [field]: isArray ? [bad] : bad };
        const bytes = signUnchecked(t.keys.alice, { chainId: t.genesis.chainId, kind, nonce: 0n, payload });
        const err = decodeRefusal(bytes);
        expect(err?.code, `${TX_KIND_NAMES[kind]}.${field} = ${toHex(bad)}`).toMatch(/^INVALID_(ADDRESS|RECIPIENT)$/);
        expect(err?.message).toContain(`${schema.$id}.${field}`);
      }
    }
  });

  it('a transfer to an address of no kind is refused at admission with INVALID_RECIPIENT', () => {
    const t = testChain();
    const payload = { to: undefinedKind(), token: ZNC, amount: ZNC_UNIT, memo: '' };
    // A wallet cannot even sign it (the codec holds every address to its rule) …
    expect(() => signTx(t.keys.alice, { chainId: t.genesis.chainId, kind: TxKind.Transfer, nonce: 0n, payload })).toThrow(/kind byte 0xee/);
    // … and the node refuses the bytes of a client that does.
    const bytes = signUnchecked(t.keys.alice, { chainId: t.genesis.chainId, kind: TxKind.Transfer, nonce: 0n, payload });
    const err = decodeRefusal(bytes);
    expect(err?.code).toBe('INVALID_RECIPIENT');
    expect(err?.message).toMatch(/kind/);
  });

  it('a transfer to a made-up system address or a multisig that does not exist is refused on the sending chain; nothing leaves', () => {
    const t = testChain();
    const alice = addr(t, 'alice');
    const before = znc(t, alice);
    for (const to of [madeUpSystem(), multisigAddress(alice, 12345n)]) {
      const tx = makeTx(t, 'alice', TxKind.Transfer, { to, token: ZNC, amount: ZNC_UNIT, memo: '' });
      // The sender lives on an inner chain, the recipient on main: the refusal is on the sender's chain.
      expect(tx.chain).not.toBe(MAIN_CHAIN);
      const err = produce(t, [tx]).get(tx.hashHex);
      expect(err?.code, encodeAddress(to)).toBe('INVALID_RECIPIENT');
      expect(err?.message).toContain(encodeAddress(to));
      t.nonces.set(`alice/${tx.chain}`, tx.nonce);
      expect(t.ledger.inFlight).toEqual([]);
      produce(t, []);
      expect(znc(t, alice)).toBe(before);
      expect(accounts.get(t.ledger.chains[MAIN_CHAIN], toHex(to))).toBeUndefined();
    }
  });

  it("the ledger's own system accounts, genesis and created multisigs, and any key receive transfers", () => {
    const t = testChain();
    const reserve = genesisMultisigAddress(t.genesis.chainId, 'development-reserve');
    const created = makeTx(t, 'alice', TxKind.MultisigCreate, { members: [addr(t, 'alice'), addr(t, 'bob')], threshold: 1 });
    expect(produce(t, [created]).size).toBe(0);
    const ms = multisigAddress(addr(t, 'alice'), created.nonce);
    const stranger = addressFromPublicKey(testKey('stranger').publicKey);
    // The system accounts' balances also move with every block (rewards, dividend): only acceptance is checked for them.
    const system = [rewardsPoolAddress(), systemAddress(WORKER_DIVIDEND)];
    const others = [reserve, ms, stranger];
    const before = others.map((a) => znc(t, a));
    const txs = [...system, ...others].map((to) => makeTx(t, 'alice', TxKind.Transfer, { to, token: ZNC, amount: 7n, memo: '' }));
    expect([...produce(t, txs).values()]).toEqual([]);
    produce(t, []);
    expect(others.map((a, i) => znc(t, a) - before[i])).toEqual([7n, 7n, 7n]);
  });

  it('sub-token transfers, multisig proposals and app developers refuse unreachable recipients too', () => {
    const t = testChain();
    produce(t, [makeTx(t, 'alice', TxKind.TokenCreate, { symbol: 'GOLD', name: 'Gold', decimals: 2, anchorRate: 10n, deposit: 100n })]);
    produce(t, []);
    produce(t, []);
    expect(znc(t, addr(t, 'alice'), 'GOLD')).toBe(1000n);
    // A multisig of alice's and carol's (the reserve takes no member's proposal at all: a passed vote proposes for it).
    const create = makeTx(t, 'carol', TxKind.MultisigCreate, { members: [addr(t, 'alice'), addr(t, 'carol')], threshold: 1 });
    expect(produce(t, [create]).size).toBe(0);
    const ms = multisigAddress(addr(t, 'carol'), create.nonce);
    for (const bad of [madeUpSystem(), multisigAddress(addr(t, 'bob'), 1n)]) {
      const gold = makeTx(t, 'alice', TxKind.Transfer, { to: bad, token: 'GOLD', amount: 10n, memo: '' });
      const propose = makeTx(t, 'carol', TxKind.MultisigPropose, { account: ms, to: bad, token: ZNC, amount: ZNC_UNIT, memo: '' });
      const publish = makeTx(t, 'bob', TxKind.PublishApp, {
        name: 'web',
        version: '1',
        digest: DIGEST,
        developer: bad,
        feeToken: ZNC,
        licenseFeePerHour: 1n,
        requiresLicense: false,
      });
      const refused = produce(t, [gold, propose, publish]);
      for (const tx of [gold, propose, publish]) expect(refused.get(tx.hashHex)?.code, TX_KIND_NAMES[tx.kind]).toBe('INVALID_RECIPIENT');
      // Refused transactions used no nonce.
      for (const [name, tx] of [
        ['alice', gold],
        ['carol', propose],
        ['bob', publish],
      ] as const) {
        t.nonces.set(`${name}/${tx.chain}`, readAccount(t.ledger.chains[tx.chain], toHex(addr(t, name))).nonce);
      }
    }
    expect(znc(t, addr(t, 'alice'), 'GOLD')).toBe(1000n);
    expect(proposals.get(t.ledger.chains[MAIN_CHAIN], toHex(ms), 1n)).toBeUndefined();
    expect(apps.get(t.ledger.chains[MAIN_CHAIN], 'web', '1')).toBeUndefined();
  });

  it('a genesis cannot allocate to an address nobody can reach', () => {
    const names = [...DEV_GENESIS_KEYS, 'alice', 'bookkeeper-0'];
    const keys = Object.fromEntries(names.map((n) => [n, testKey(n).publicKey]));
    const g: Genesis = buildDevGenesis({
      genesisTime: 1_700_000_000_000,
      keys,
      devAccounts: ['alice'],
      bookkeepers: [{ name: 'bookkeeper-0', publicKey: keys['bookkeeper-0'] }],
    });
    const promotion = g.allocations.find((a) => a.row === 'promotion')!;
    const alice = promotion.holders.find((h) => h.name === 'alice')!;
    for (const bad of [madeUpSystem(), multisigAddress(addressFromPublicKey(keys.alice), 1n)]) {
      const copy = structuredClone(g);
      copy.allocations.find((a) => a.row === 'promotion')!.holders.find((h) => h.name === 'alice')!.address = encodeAddress(bad);
      expect(() => validateGenesis(copy), encodeAddress(bad)).toThrow(/nobody can reach|not a genesis multisig|system account/);
    }
    expect(alice.address).toBe(encodeAddress(addressFromPublicKey(keys.alice)));
    expect(() => validateGenesis(g)).not.toThrow();
  });
});
