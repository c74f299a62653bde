import { CodecError, decode, encode, type Infer, type ObjectSchema } from '../codec/index.ts';
import {
  AddressKind,
  addressFromPublicKey,
  addressKind,
  concatBytes,
  sha256,
  signBytes,
  toHex,
  utf8,
  verifySignature,
  type KeyPair,
} from '../crypto/portable.ts';
import { fail, LedgerError } from './errors.ts';
import { CHAIN_COUNT, INNER_CHAINS, MAIN_CHAIN, MAX_TX_BYTES } from './params.ts';
import { TaskNeedsFields, TaskOrderFields, WorkerSpecFields } from './marketEntries.ts';
import { address, ADDRESS_RULE, FIELD_RULE_CODES, optionalAddress, optionalRecipient, recipient } from './fields.ts';

/** A task id: its first byte names the inner chain that holds the task, its escrow and leases. */
const taskId = { type: 'bytes', length: 32 } as const;
const usage = {
  cpuSeconds: { id: 10, type: 'uint64' },
  memoryGiBSeconds: { id: 11, type: 'uint64' },
  gpuSeconds: { id: 12, type: 'uint64' },
  networkBytes: { id: 13, type: 'uint64' },
  wallMs: { id: 14, type: 'uint64' },
} as const;

const token = { type: 'string', max: 10 } as const;

export const TxKind = {
  Transfer: 1,
  TokenCreate: 2,
  TokenRedeem: 3,
  TokenConvert: 4,
  MultisigCreate: 5,
  MultisigPropose: 6,
  MultisigApprove: 7,
  MultisigExecute: 8,
  Stake: 9,
  Unstake: 10,
  RegisterCandidate: 11,
  VoteBookkeepers: 12,
  Delegate: 13,
  Unjail: 14,
  SubmitEvidence: 15,
  RegisterWorker: 16,
  UpdateWorker: 17,
  LeaveWorker: 18,
  PublishApp: 19,
  DeprecateApp: 20,
  AcquireLicense: 21,
  PostTask: 22,
  CancelTask: 23,
  TopUpTask: 24,
  Bid: 25,
  AcceptBid: 26,
  StartLease: 27,
  ReportUsage: 28,
  SubmitResult: 29,
  Dispute: 30,
  /** The end of a lease whose result is compared (redundancy group, verifier seat): a commitment to its digest, and its last usage. */
  CommitResult: 31,
  /** The digest (or app outcome) and salt behind a lease's commitment, once its group's reveal phase is open. */
  RevealResult: 32,
  SubmitAppOutcome: 33,
  ReleaseLease: 34,
  /** A worker takes back its bid in a task's open window (issue 13: a bid must not hold a worker it cannot serve). */
  WithdrawBid: 35,
} as const;
export type TxKind = (typeof TxKind)[keyof typeof TxKind];
export const TX_KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TxKind).map(([k, v]) => [v, k]),
);

export const PayloadSchemas = {
  [TxKind.Transfer]: {
    $id: 'Transfer',
    fields: { to: { id: 1, ...recipient }, token: { id: 2, ...token }, amount: { id: 3, type: 'uint64' }, memo: { id: 4, type: 'string', max: 256 } },
  },
  [TxKind.TokenCreate]: {
    $id: 'TokenCreate',
    fields: {
      symbol: { id: 1, ...token },
      name: { id: 2, type: 'string', max: 64 },
      decimals: { id: 3, type: 'uint32' },
      anchorRate: { id: 4, type: 'uint64' },
      deposit: { id: 5, type: 'uint64' },
    },
  },
  [TxKind.TokenRedeem]: { $id: 'TokenRedeem', fields: { symbol: { id: 1, ...token }, amount: { id: 2, type: 'uint64' } } },
  [TxKind.TokenConvert]: {
    $id: 'TokenConvert',
    fields: { from: { id: 1, ...token }, to: { id: 2, ...token }, amount: { id: 3, type: 'uint64' } },
  },
  [TxKind.MultisigCreate]: {
    $id: 'MultisigCreate',
    fields: { members: { id: 1, type: { array: 'bytes', max: 20 }, ...ADDRESS_RULE }, threshold: { id: 2, type: 'uint32' } },
  },
  [TxKind.MultisigPropose]: {
    $id: 'MultisigPropose',
    fields: {
      account: { id: 1, ...address },
      to: { id: 2, ...recipient },
      token: { id: 3, ...token },
      amount: { id: 4, type: 'uint64' },
      memo: { id: 5, type: 'string', max: 256 },
    },
  },
  [TxKind.MultisigApprove]: { $id: 'MultisigApprove', fields: { account: { id: 1, ...address }, proposal: { id: 2, type: 'uint64' } } },
  [TxKind.MultisigExecute]: { $id: 'MultisigExecute', fields: { account: { id: 1, ...address }, proposal: { id: 2, type: 'uint64' } } },
  [TxKind.Stake]: { $id: 'Stake', fields: { amount: { id: 1, type: 'uint64' } } },
  [TxKind.Unstake]: { $id: 'Unstake', fields: { amount: { id: 1, type: 'uint64' } } },
  [TxKind.RegisterCandidate]: { $id: 'RegisterCandidate', fields: { name: { id: 1, type: 'string', max: 32 } } },
  [TxKind.VoteBookkeepers]: { $id: 'VoteBookkeepers', fields: { candidates: { id: 1, type: { array: 'bytes', max: 30 }, ...ADDRESS_RULE } } },
  /** An empty proxy withdraws the delegation. */
  [TxKind.Delegate]: { $id: 'Delegate', fields: { proxy: { id: 1, ...optionalAddress } } },
  [TxKind.Unjail]: { $id: 'Unjail', fields: {} },
  /** Two conflicting signed votes (encoded SignedVote) by one bookkeeper for one height, round and step. */
  [TxKind.SubmitEvidence]: { $id: 'SubmitEvidence', fields: { first: { id: 1, type: 'bytes', max: 512 }, second: { id: 2, type: 'bytes', max: 512 } } },
  /** The bond moves from the worker's stake on main; `benchmark` (0..1000) is its own claim, recorded and shown, not rated. */
  [TxKind.RegisterWorker]: {
    $id: 'RegisterWorker',
    fields: { ...WorkerSpecFields, bond: { id: 20, type: 'uint64' }, benchmark: { id: 21, type: 'uint32' } },
  },
  /** New resources, prices and endpoint; `addBond` moves more of the stake into the bond. */
  [TxKind.UpdateWorker]: { $id: 'UpdateWorker', fields: { ...WorkerSpecFields, addBond: { id: 20, type: 'uint64' } } },
  [TxKind.LeaveWorker]: { $id: 'LeaveWorker', fields: {} },
  [TxKind.PublishApp]: {
    $id: 'PublishApp',
    fields: {
      name: { id: 1, type: 'string', max: 64 },
      version: { id: 2, type: 'string', max: 32 },
      digest: { id: 3, type: 'string', max: 71 },
      /** Who earns the license fee (empty: the publisher). */
      developer: { id: 4, ...optionalRecipient },
      feeToken: { id: 5, ...token },
      licenseFeePerHour: { id: 6, type: 'uint64' },
      requiresLicense: { id: 7, type: 'bool' },
    },
  },
  [TxKind.DeprecateApp]: { $id: 'DeprecateApp', fields: { name: { id: 1, type: 'string', max: 64 }, version: { id: 2, type: 'string', max: 32 } } },
  [TxKind.AcquireLicense]: { $id: 'AcquireLicense', fields: { name: { id: 1, type: 'string', max: 64 } } },
  [TxKind.PostTask]: { $id: 'PostTask', fields: { ...TaskNeedsFields, ...TaskOrderFields } },
  [TxKind.CancelTask]: { $id: 'CancelTask', fields: { task: { id: 1, ...taskId } } },
  [TxKind.TopUpTask]: { $id: 'TopUpTask', fields: { task: { id: 1, ...taskId }, amount: { id: 2, type: 'uint64' }, feeAmount: { id: 3, type: 'uint64' } } },
  [TxKind.Bid]: { $id: 'Bid', fields: { task: { id: 1, ...taskId }, price: { id: 2, type: 'uint64' } } },
  [TxKind.AcceptBid]: { $id: 'AcceptBid', fields: { task: { id: 1, ...taskId }, worker: { id: 2, ...address } } },
  [TxKind.WithdrawBid]: { $id: 'WithdrawBid', fields: { task: { id: 1, ...taskId } } },
  [TxKind.StartLease]: { $id: 'StartLease', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, endpoint: { id: 3, type: 'string', max: 128 } } },
  /** Usage of one period, signed by the worker; `seq` numbers the periods from 1. */
  [TxKind.ReportUsage]: {
    $id: 'ReportUsage',
    fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, seq: { id: 3, type: 'uint32' }, ...usage },
  },
  /** The end of a batch lease: the result blob's digest and the last period's usage. */
  [TxKind.SubmitResult]: {
    $id: 'SubmitResult',
    fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, digest: { id: 3, type: 'string', max: 71 }, ...usage },
  },
  [TxKind.Dispute]: { $id: 'Dispute', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' } } },
  /** `commitment`: resultCommitment(task, lease, worker, digest, salt) (src/ledger/resultCommit.ts); the last period's usage. */
  [TxKind.CommitResult]: {
    $id: 'CommitResult',
    fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, ...usage, commitment: { id: 80, type: 'bytes', length: 32 } },
  },
  /**
   * What a commitment hid: the result digest and the salt — or, with `appOutcome`, the app outcome
   * (its digest is computed by the chain; `digest` is then empty).
   */
  [TxKind.RevealResult]: {
    $id: 'RevealResult',
    fields: {
      task: { id: 1, ...taskId },
      lease: { id: 2, type: 'uint32' },
      digest: { id: 81, type: 'string', max: 71 },
      salt: { id: 82, type: 'bytes', length: 32 },
      appOutcome: { id: 83, type: 'bool' },
      exitCode: { id: 84, type: 'uint32' },
      oomKilled: { id: 85, type: 'bool' },
      cause: { id: 86, type: 'string', max: 16 },
      logDigest: { id: 87, type: 'string', max: 71 },
    },
  },
  /**
   * The end of a batch lease whose app failed on its own inside the lease's limits (src/ledger/appOutcome.ts):
   * how it ended, the digest of its log and the last period's usage. Compared and disputed like a result.
   */
  [TxKind.SubmitAppOutcome]: {
    $id: 'SubmitAppOutcome',
    fields: {
      task: { id: 1, ...taskId },
      lease: { id: 2, type: 'uint32' },
      ...usage,
      exitCode: { id: 50, type: 'uint32' },
      oomKilled: { id: 51, type: 'bool' },
      cause: { id: 52, type: 'string', max: 16 },
      logDigest: { id: 53, type: 'string', max: 71 },
    },
  },
  /** A matched lease its worker gives back before starting it, penalty-free: its image cannot be fetched (`reason`: the error code). */
  [TxKind.ReleaseLease]: { $id: 'ReleaseLease', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, reason: { id: 50, type: 'string', max: 64 } } },
} as const satisfies Record<TxKind, ObjectSchema>;

export type Payload<K extends TxKind> = Infer<(typeof PayloadSchemas)[K]>;
export type AnyPayload = { [K in TxKind]: { kind: K; payload: Payload<K> } }[TxKind];

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

/**
 * Home inner chain of an address: accounts of one key live on chain 1 + (hash mod 9), where the
 * hash is the address's own 20 hash bytes (already uniform); multisig and system accounts on main.
 */
export function homeChain(addr: Uint8Array): number {
  if (addressKind(addr) !== AddressKind.Key) return MAIN_CHAIN;
  return 1 + (((addr[1] << 24) | (addr[2] << 16) | (addr[3] << 8) | addr[4]) >>> 0) % INNER_CHAINS;
}

/** The inner chain a task id names (0 when it names none: such an id is refused). */
export function taskChain(id: Uint8Array): number {
  return id.length === 32 && id[0] >= 1 && id[0] <= INNER_CHAINS ? id[0] : 0;
}

/**
 * Routing by correlation key: a sender's own funds move on its home chain; a task's bids,
 * leases and escrow on the task's chain; shared registries (bookkeepers, workers, apps) on main.
 */
export function routeTx(kind: TxKind, from: Uint8Array, payload?: unknown): number {
  switch (kind) {
    case TxKind.Transfer:
    case TxKind.TokenCreate:
    case TxKind.TokenRedeem:
    case TxKind.TokenConvert:
    case TxKind.Stake:
    case TxKind.PostTask:
      return homeChain(from);
    case TxKind.CancelTask:
    case TxKind.TopUpTask:
    case TxKind.Bid:
    case TxKind.AcceptBid:
    case TxKind.WithdrawBid:
    case TxKind.StartLease:
    case TxKind.ReportUsage:
    case TxKind.SubmitResult:
    case TxKind.Dispute:
    case TxKind.CommitResult:
    case TxKind.RevealResult:
    case TxKind.SubmitAppOutcome:
    case TxKind.ReleaseLease: {
      const id = (payload as { task?: Uint8Array } | undefined)?.task;
      if (!id) throw new Error(`routing transaction kind ${kind} needs its payload`);
      return taskChain(id);
    }
    default:
      return MAIN_CHAIN;
  }
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

export function txSigningBytes(tx: Tx): Uint8Array {
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
