import { keyPairFromSeed, sha256, utf8, type KeyPair } from '../crypto/portable.ts';
import { buildDevGenesis, DEV_GENESIS_KEYS } from './devGenesis.ts';
import type { LedgerError } from './errors.ts';
import type { Genesis } from './genesis.ts';
import { blockHash, type Block } from './block.ts';
import { certify, type Certificate } from './commit.ts';
import { Ledger, type ExecutedHeight } from './ledger.ts';
import { encode, type FieldDef, type ObjectSchema } from '../codec/index.ts';
import { signBytes } from '../crypto/portable.ts';
import { PayloadSchemas, type TxKind } from './ops/index.ts';
import { decodeTx, SignedTxSchema, signingBytes, signTx, type Tx, type TxRequest } from './tx.ts';

// Helpers for tests and simulations that drive the ledger directly, without a node.

export const testKey = (name: string): KeyPair => keyPairFromSeed(sha256(utf8(`zeus-test-key/${name}`)));

export interface TestChain {
  ledger: Ledger;
  genesis: Genesis;
  keys: Record<string, KeyPair>;
  nonces: Map<string, bigint>;
}

export function testChain(
  opts: { devAccounts?: string[]; monthMs?: number; params?: Partial<Genesis['params']>; genesisTime?: number; bookkeepers?: number } = {},
): TestChain {
  const devAccounts = opts.devAccounts ?? ['alice', 'bob', 'carol', 'dave'];
  const bookkeepers = Array.from({ length: opts.bookkeepers ?? 1 }, (_, i) => `bookkeeper-${i}`);
  const names = [...DEV_GENESIS_KEYS, ...devAccounts, ...bookkeepers];
  const keys = Object.fromEntries(names.map((n) => [n, testKey(n)]));
  const genesis = buildDevGenesis({
    genesisTime: opts.genesisTime ?? 1_700_000_000_000,
    keys: Object.fromEntries(names.map((n) => [n, keys[n].publicKey])),
    devAccounts,
    bookkeepers: bookkeepers.map((name) => ({ name, publicKey: keys[name].publicKey })),
    monthMs: opts.monthMs,
    params: opts.params,
  });
  return { ledger: Ledger.fromGenesis(genesis), genesis, keys, nonces: new Map() };
}

/** Signs a transaction from a named key, tracking its nonce per chain. */
export function makeTx<K extends TxKind>(t: TestChain, from: string, kind: K, payload: TxRequest<K>['payload'], nonce?: bigint): Tx {
  const key = t.keys[from];
  const probe = decodeTx(signTx(key, { chainId: t.genesis.chainId, kind, nonce: 0n, payload }));
  const id = `${from}/${probe.chain}`;
  const n = nonce ?? t.nonces.get(id) ?? 0n;
  if (nonce === undefined) t.nonces.set(id, n + 1n);
  return decodeTx(signTx(key, { chainId: t.genesis.chainId, kind, nonce: n, payload }));
}

const looseSchemas = new WeakMap<ObjectSchema, ObjectSchema>();
/** A schema with the same wire format and none of the field rules (what a hostile client encodes with). */
export function withoutRules(schema: ObjectSchema): ObjectSchema {
  let loose = looseSchemas.get(schema);
  if (loose) return loose;
  const fields: Record<string, FieldDef> = {};
  for (const [name, def] of Object.entries(schema.fields)) {
    const { check: _check, code: _code, ...rest } = def;
    const t = rest.type;
    const type =
      typeof t === 'object' && 'array' in t
        ? { ...t, array: typeof t.array === 'object' ? withoutRules(t.array) : t.array }
        : typeof t === 'object'
          ? withoutRules(t)
          : t;
    fields[name] = { ...rest, type };
  }
  loose = { $id: schema.$id, fields };
  looseSchemas.set(schema, loose);
  return loose;
}

/**
 * Signs a transaction whose payload may break the field rules (an address of no kind…), as a
 * hostile client can: `signTx` refuses to encode such a payload.
 */
export function signUnchecked(key: KeyPair, req: { chainId: string; kind: number; nonce: bigint; payload: unknown }): Uint8Array {
  const payload = encode(withoutRules((PayloadSchemas as Record<number, ObjectSchema>)[req.kind]), req.payload as never);
  const fields = { chainId: req.chainId, kind: req.kind, sender: key.publicKey, nonce: req.nonce, payload };
  return encode(SignedTxSchema, { ...fields, signature: signBytes(key.secretKey, signingBytes(fields)) });
}

/** Executes and commits one height; returns the rejections by transaction hash. */
export function produce(t: TestChain, txs: Tx[], time?: number, round = 0): Map<string, LedgerError> {
  const exec = t.ledger.begin(time ?? t.ledger.time + 1000);
  const rejected = new Map<string, LedgerError>();
  for (const tx of txs) {
    const err = exec.tryApply(tx);
    if (err) rejected.set(tx.hashHex, err);
  }
  commitExecuted(t, exec.finish(), round);
  return rejected;
}

/** Commits an executed height as the test chain's solo bookkeeper would: block plus its certificate. */
export function commitExecuted(
  t: TestChain,
  executed: ExecutedHeight,
  round = 0,
  absent: ReadonlySet<string> = new Set(),
): { block: Block; certificate: Certificate } {
  const key = t.keys['bookkeeper-0'];
  const block = t.ledger.blockFor(executed, key.publicKey);
  // Signed by every test key in the height's set (a quorum whenever the set is made of test keys), but the absent.
  const signers = Object.entries(t.keys)
    .filter(([name]) => !absent.has(name))
    .map(([, k]) => k);
  const certificate = certify(t.ledger.chainId, block.header.height, round, blockHash(block.header), t.ledger.bookkeepersAt(executed.height), signers);
  t.ledger.commit(executed, block.header, certificate);
  return { block, certificate };
}
