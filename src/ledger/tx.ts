import { CodecError, decode, encode, type Infer, type ObjectSchema } from '../codec/index.ts';
import { addressFromPublicKey, concatBytes, sha256, signBytes, toHex, utf8, verifySignature, type KeyPair } from '../crypto/portable.ts';
import { fail, LedgerError } from './errors.ts';
import { CHAIN_COUNT, MAX_TX_BYTES } from './params.ts';
import { FIELD_RULE_CODES } from './fields.ts';
import { PayloadSchemas, routeTx, type AnyPayload, type Payload, type TxKind } from './ops/index.ts';
import { taskChain } from './routing.ts';

export const UnsignedTxSchema = {
  $id: 'UnsignedTx',
  fields: {
    chainId: { id: 1, type: 'string', max: 64 },
    kind: { id: 2, type: 'uint32' },
    sender: { id: 3, type: 'bytes', length: 32 },
    nonce: { id: 4, type: 'uint64' },
    payload: { id: 5, type: 'bytes', max: MAX_TX_BYTES },
  },
} as const;

export const SignedTxSchema = {
  $id: 'SignedTx',
  fields: { ...UnsignedTxSchema.fields, signature: { id: 6, type: 'bytes', length: 64 } },
} as const;

export type SignedTxFields = Infer<typeof SignedTxSchema>;

/** A decoded, structurally valid transaction with everything derived from it cached. */
export interface Tx {
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly hashHex: string;
  readonly chainId: string;
  readonly kind: TxKind;
  readonly sender: Uint8Array;
  /** The sender's address, derived from its public key. */
  readonly from: Uint8Array;
  readonly fromHex: string;
  readonly nonce: bigint;
  readonly body: AnyPayload;
  readonly signature: Uint8Array;
  /** The chain (0 = main, 1..9 inner) that executes this transaction. */
  readonly chain: number;
}

const SIGN_DOMAIN = utf8('ZEUSNET/tx/v1\0');

/** The bytes an Ed25519 signature covers: a domain tag and the canonical unsigned encoding (chain id included). */
export function signingBytes(fields: Omit<SignedTxFields, 'signature'>): Uint8Array {
  return concatBytes(SIGN_DOMAIN, encode(UnsignedTxSchema, fields));
}

const RECIPIENT_HINT = '; send only to a znc1… address of a key, of a multisig account that exists, or of a ledger system account';

export function isChainIndex(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < CHAIN_COUNT;
}

/**
 * Decodes a signed transaction and checks everything that needs no state and no signature
 * check: size, canonical encoding, kind, payload.
 */
export function decodeTx(bytes: Uint8Array): Tx {
  if (bytes.length > MAX_TX_BYTES) fail('TX_TOO_LARGE', `transaction is ${bytes.length} bytes; the limit is ${MAX_TX_BYTES}`);
  let f: SignedTxFields;
  try {
    f = decode(SignedTxSchema, bytes);
  } catch (e) {
    if (e instanceof CodecError) fail('BAD_ENCODING', `malformed transaction: ${e.message}`);
    throw e;
  }
  const schema = (PayloadSchemas as Record<number, ObjectSchema>)[f.kind];
  if (!schema) fail('UNKNOWN_TX_KIND', `unknown transaction kind ${f.kind}`);
  let payload: unknown;
  try {
    payload = decode(schema, f.payload);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    // A well-formed value that breaks a field's rule (an address of no kind…) gets the rule's code.
    const rule = FIELD_RULE_CODES.find((c) => c === e.code);
    if (rule) fail(rule, `${e.message}${rule === 'INVALID_RECIPIENT' ? RECIPIENT_HINT : ''}`);
    fail('BAD_ENCODING', `malformed ${schema.$id} payload: ${e.message}`);
  }
  const hash = sha256(bytes);
  const from = addressFromPublicKey(f.sender);
  const kind = f.kind as TxKind;
  const task = (payload as { task?: Uint8Array }).task;
  if (task && taskChain(task) === 0) fail('BAD_ENCODING', 'task id names no inner chain (its first byte must be 1..9)');
  return {
    bytes,
    hash,
    hashHex: toHex(hash),
    chainId: f.chainId,
    kind,
    sender: f.sender,
    from,
    fromHex: toHex(from),
    nonce: f.nonce,
    body: { kind, payload } as AnyPayload,
    signature: f.signature,
    chain: routeTx(kind, from, payload),
  };
}

/** How a transaction's bytes end: its signature field (field 6, length-delimited, 64 bytes). */
const SIGNATURE_KEY = (6 << 3) | 2;
const SIGNATURE_FIELD = 2 + 64;

export function txSigningBytes(tx: Tx): Uint8Array {
  // A Tx comes from decodeTx, which takes only canonical encodings, and the signed schema is the
  // unsigned one plus a last field: so the unsigned encoding is the bytes before the signature,
  // and no field needs encoding again (a check of every transaction, on every node, did that).
  const n = tx.bytes.length - SIGNATURE_FIELD;
  if (n > 0 && tx.bytes[n] === SIGNATURE_KEY && tx.bytes[n + 1] === 64) return concatBytes(SIGN_DOMAIN, tx.bytes.subarray(0, n));
  return signingBytes({
    chainId: tx.chainId,
    kind: tx.kind,
    sender: tx.sender,
    nonce: tx.nonce,
    payload: encode((PayloadSchemas as Record<number, ObjectSchema>)[tx.kind], tx.body.payload as never),
  });
}

export function checkTxSignature(tx: Tx): void {
  if (!verifySignature(tx.sender, txSigningBytes(tx), tx.signature)) {
    throw new LedgerError('BAD_SIGNATURE', 'signature does not match the sender key and transaction');
  }
}

export interface TxRequest<K extends TxKind = TxKind> {
  chainId: string;
  kind: K;
  nonce: bigint;
  payload: Payload<K>;
}

/** Encodes and signs a transaction: what a wallet does. */
export function signTx<K extends TxKind>(key: KeyPair, req: TxRequest<K>): Uint8Array {
  const payload = encode((PayloadSchemas as Record<number, ObjectSchema>)[req.kind], req.payload as never);
  const fields = { chainId: req.chainId, kind: req.kind, sender: key.publicKey, nonce: req.nonce, payload };
  const signature = signBytes(key.secretKey, signingBytes(fields));
  return encode(SignedTxSchema, { ...fields, signature });
}
