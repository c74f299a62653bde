import { decodeAddress, fromHex } from '../crypto/portable.ts';
import { ProposalType, TaskKind, TxKind, VoteOption, ZNC, type Payload } from '../ledger/index.client.ts';
import type { ProposalTypeName, QuoteRequest, VoteOptionName } from './wire.ts';
import { needsOfQuote } from './quote.ts';

// Typed builders for every transaction kind. Each returns a TxIntent (kind + payload, exactly
// what the ledger's schema encodes) from friendlier input: addresses as znc1… strings, task ids as
// hex, amounts as bigint base units, and the optional fields filled with their neutral values.
// Sign and submit an intent with ZeusClient.execute (waits for finality) or .submitIntent.

/** A transaction before signing: its kind and typed payload. */
export interface TxIntent<K extends TxKind = TxKind> {
  kind: K;
  payload: Payload<K>;
}

/** An address as text (znc1…) or raw bytes. */
export type AddressLike = string | Uint8Array;
/** A task id as hex (what the API shows) or raw bytes. */
export type TaskIdLike = string | Uint8Array;

const addr = (a: AddressLike): Uint8Array => (typeof a === 'string' ? decodeAddress(a) : a);
const taskId = (t: TaskIdLike): Uint8Array => (typeof t === 'string' ? fromHex(t) : t);
const of = <K extends TxKind>(kind: K, payload: Payload<K>): TxIntent<K> => ({ kind, payload });

type Usage = Pick<Payload<typeof TxKind.ReportUsage>, 'cpuSeconds' | 'memoryGiBSeconds' | 'gpuSeconds' | 'networkBytes' | 'wallMs'>;
type WorkerSpec = Omit<Payload<typeof TxKind.UpdateWorker>, 'addBond' | 'sealKey'> & { sealKey: Uint8Array | string };

/** What PostTask takes: a quote's needs (defaults: none) and price, and the order; everything but the image or app has a default. */
export interface PostTaskSpec extends Omit<QuoteRequest, 'runtime' | 'maxPricePerHour'> {
  /** An app published on the chain (name, and version or its latest) … */
  app?: string;
  version?: string;
  /** … or a raw image digest (sha256:…). */
  image?: string;
  kind?: 'batch' | 'service';
  runtime: 'docker' | 'wasm';
  /** Most paid to a worker per replica-hour, ZNC base units. */
  maxPricePerHour: bigint;
  maxHours?: number;
  replicas?: number;
  redundancy?: number;
  ports?: number[];
  /** Inputs and secrets sealed to the candidate workers (see ZeusClient.sealForTask). */
  sealed?: Uint8Array;
  bidWindowBlocks?: number;
  retries?: number;
}

/** The PostTask payload of a spec, with the defaults filled in. */
export function postTaskPayload(s: PostTaskSpec): Payload<typeof TxKind.PostTask> {
  return {
    ...needsOfQuote(quoteRequestOf(s)),
    app: s.app ?? '',
    version: s.version ?? '',
    image: s.image ?? '',
    kind: s.kind === 'service' ? TaskKind.Service : TaskKind.Batch,
    maxHours: s.maxHours ?? 1,
    replicas: s.replicas ?? 1,
    redundancy: s.redundancy ?? 1,
    ports: s.ports ?? [],
    sealed: s.sealed ?? new Uint8Array(0),
    bidWindowBlocks: s.bidWindowBlocks ?? 10,
    retries: s.retries ?? 0,
  };
}

/** The quote request of a task spec: its needs and price. */
export function quoteRequestOf(s: PostTaskSpec): QuoteRequest {
  return {
    cpuMillis: s.cpuMillis,
    memoryMiB: s.memoryMiB,
    diskMiB: s.diskMiB,
    bandwidthMbps: s.bandwidthMbps,
    gpuCount: s.gpuCount,
    gpuModel: s.gpuModel,
    gpuMemoryMiB: s.gpuMemoryMiB,
    runtime: s.runtime,
    region: s.region,
    minRating: s.minRating,
    maxPricePerHour: s.maxPricePerHour.toString(),
  };
}

/** A governance proposal id as the API shows it (decimal string) or a number. */
export type ProposalIdLike = bigint | number | string;

const proposalId = (id: ProposalIdLike): bigint => {
  const s = String(id);
  if (!/^(0|[1-9]\d{0,19})$/.test(s)) throw new Error(`${JSON.stringify(s)} is not a proposal id (a whole number: 1, 2, …)`);
  return BigInt(s);
};

/** What every proposal has: a title, words for the voters, and the first deposit (base units; its vote opens at the minimum). */
interface ProposalBase {
  title: string;
  description?: string;
  deposit: bigint;
}

/**
 * A governance proposal by type. Parameter values are decimal strings (or numbers, bigints) in
 * the parameter's own unit, as GET /gov/params shows it: base units for amounts, basis points for
 * shares, blocks or ms as named.
 */
export type ProposalSpec =
  | (ProposalBase & { type: 'text' })
  | (ProposalBase & { type: 'param-change'; changes: { name: string; value: string | number | bigint }[] })
  | (ProposalBase & { type: 'reserve-spend'; to: AddressLike; amount: bigint })
  | (ProposalBase & { type: 'upgrade'; name: string; height: number | bigint; info?: string });

const PROPOSAL_TYPES: Record<ProposalTypeName, ProposalType> = {
  text: ProposalType.Text,
  'param-change': ProposalType.ParamChange,
  'reserve-spend': ProposalType.ReserveSpend,
  upgrade: ProposalType.Upgrade,
};
const VOTE_OPTIONS: Record<VoteOptionName, VoteOption> = { yes: VoteOption.Yes, no: VoteOption.No, abstain: VoteOption.Abstain, veto: VoteOption.Veto };

/** The GovPropose payload of a spec: the fields of the other types left neutral (the ledger refuses them otherwise). */
export function proposalPayload(s: ProposalSpec): Payload<typeof TxKind.GovPropose> {
  const type = PROPOSAL_TYPES[s.type];
  if (type === undefined) throw new Error(`unknown proposal type ${JSON.stringify(s.type)}: text, param-change, reserve-spend or upgrade`);
  return {
    type,
    title: s.title,
    description: s.description ?? '',
    changes: s.type === 'param-change' ? s.changes.map((c) => ({ name: c.name, value: String(c.value) })) : [],
    recipient: s.type === 'reserve-spend' ? addr(s.to) : new Uint8Array(0),
    amount: s.type === 'reserve-spend' ? s.amount : 0n,
    upgradeName: s.type === 'upgrade' ? s.name : '',
    upgradeHeight: s.type === 'upgrade' ? BigInt(s.height) : 0n,
    upgradeInfo: s.type === 'upgrade' ? (s.info ?? '') : '',
    deposit: s.deposit,
  };
}

/** A vote option from its name (yes, no, abstain, veto). */
export function voteOption(name: VoteOptionName): VoteOption {
  const o = VOTE_OPTIONS[name];
  if (o === undefined) throw new Error(`${JSON.stringify(name)} is not a vote option: yes, no, abstain or veto`);
  return o;
}

const workerSpec = (s: WorkerSpec): Omit<Payload<typeof TxKind.UpdateWorker>, 'addBond'> => ({
  ...s,
  gpus: s.gpus.map((g) => ({ ...g })),
  sealKey: typeof s.sealKey === 'string' ? fromHex(s.sealKey) : s.sealKey,
});

export const Tx = {
  /** Any kind with its raw payload (what the builders below return). */
  of,

  // Funds and sub-tokens
  transfer: (o: { to: AddressLike; amount: bigint; token?: string; memo?: string }) =>
    of(TxKind.Transfer, { to: addr(o.to), token: o.token ?? ZNC, amount: o.amount, memo: o.memo ?? '' }),
  /** A sub-token anchored to ZNC: `deposit` ZNC backs it, `anchorRate` tokens per ZNC. */
  tokenCreate: (o: { symbol: string; name: string; decimals: number; anchorRate: bigint; deposit: bigint }) => of(TxKind.TokenCreate, { ...o }),
  tokenRedeem: (o: { symbol: string; amount: bigint }) => of(TxKind.TokenRedeem, { ...o }),
  tokenConvert: (o: { from: string; to: string; amount: bigint }) => of(TxKind.TokenConvert, { ...o }),

  // Multisig accounts
  multisigCreate: (o: { members: AddressLike[]; threshold: number }) => of(TxKind.MultisigCreate, { members: o.members.map(addr), threshold: o.threshold }),
  multisigPropose: (o: { account: AddressLike; to: AddressLike; amount: bigint; token?: string; memo?: string }) =>
    of(TxKind.MultisigPropose, { account: addr(o.account), to: addr(o.to), token: o.token ?? ZNC, amount: o.amount, memo: o.memo ?? '' }),
  multisigApprove: (o: { account: AddressLike; proposal: bigint }) => of(TxKind.MultisigApprove, { account: addr(o.account), proposal: o.proposal }),
  multisigExecute: (o: { account: AddressLike; proposal: bigint }) => of(TxKind.MultisigExecute, { account: addr(o.account), proposal: o.proposal }),

  // Staking and bookkeeper elections
  stake: (amount: bigint) => of(TxKind.Stake, { amount }),
  unstake: (amount: bigint) => of(TxKind.Unstake, { amount }),
  registerCandidate: (name: string) => of(TxKind.RegisterCandidate, { name }),
  /** Votes (with the sender's stake) for up to 30 candidates; an empty list withdraws the vote. */
  voteBookkeepers: (candidates: AddressLike[]) => of(TxKind.VoteBookkeepers, { candidates: candidates.map(addr) }),
  /** Lets `proxy` vote with the sender's stake; no proxy withdraws the delegation. */
  delegate: (proxy?: AddressLike) => of(TxKind.Delegate, { proxy: proxy === undefined ? new Uint8Array(0) : addr(proxy) }),
  unjail: () => of(TxKind.Unjail, {}),
  /** Two conflicting signed votes (encoded SignedVote) of one bookkeeper. */
  submitEvidence: (first: Uint8Array, second: Uint8Array) => of(TxKind.SubmitEvidence, { first, second }),

  // Governance (proposals and deposits go through the sender's home chain to main, votes to main)
  /** Opens a proposal of any type with a first deposit (see ProposalSpec). */
  govPropose: (s: ProposalSpec) => of(TxKind.GovPropose, proposalPayload(s)),
  proposeText: (o: ProposalBase) => of(TxKind.GovPropose, proposalPayload({ ...o, type: 'text' })),
  /** `changes`: parameter name → new value, in the parameter's own unit (GET /gov/params). */
  proposeParamChange: (o: ProposalBase & { changes: Record<string, string | number | bigint> }) =>
    of(TxKind.GovPropose, proposalPayload({ ...o, type: 'param-change', changes: Object.entries(o.changes).map(([name, value]) => ({ name, value })) })),
  /** Pays `amount` base units from the development reserve to `to` once the vote passes and the reserve multisig approves. */
  proposeReserveSpend: (o: ProposalBase & { to: AddressLike; amount: bigint }) => of(TxKind.GovPropose, proposalPayload({ ...o, type: 'reserve-spend' })),
  /** Every node stops at `height` unless its software knows upgrade `name`; `info` says where to get it. */
  proposeUpgrade: (o: ProposalBase & { name: string; height: number | bigint; info?: string }) =>
    of(TxKind.GovPropose, proposalPayload({ ...o, type: 'upgrade' })),
  /** Adds `amount` base units to a proposal's deposit (returned when it ends, unless vetoed). */
  govDeposit: (o: { proposal: ProposalIdLike; amount: bigint }) => of(TxKind.GovDeposit, { proposal: proposalId(o.proposal), amount: o.amount }),
  /** Votes with the sender's stake (a later vote replaces it); it also decides for the sender's delegators who do not vote. */
  govVote: (o: { proposal: ProposalIdLike; option: VoteOptionName }) => of(TxKind.GovVote, { proposal: proposalId(o.proposal), option: voteOption(o.option) }),

  // Workers
  registerWorker: (o: WorkerSpec & { bond: bigint; benchmark: number }) =>
    of(TxKind.RegisterWorker, { ...workerSpec(o), bond: o.bond, benchmark: o.benchmark }),
  updateWorker: (o: WorkerSpec & { addBond?: bigint }) => of(TxKind.UpdateWorker, { ...workerSpec(o), addBond: o.addBond ?? 0n }),
  leaveWorker: () => of(TxKind.LeaveWorker, {}),

  // Apps
  publishApp: (o: {
    name: string;
    version: string;
    digest: string;
    developer?: AddressLike;
    feeToken?: string;
    licenseFeePerHour?: bigint;
    requiresLicense?: boolean;
  }) =>
    of(TxKind.PublishApp, {
      name: o.name,
      version: o.version,
      digest: o.digest,
      developer: o.developer === undefined ? new Uint8Array(0) : addr(o.developer),
      feeToken: o.feeToken ?? ZNC,
      licenseFeePerHour: o.licenseFeePerHour ?? 0n,
      requiresLicense: o.requiresLicense ?? false,
    }),
  deprecateApp: (o: { name: string; version: string }) => of(TxKind.DeprecateApp, { ...o }),
  acquireLicense: (name: string) => of(TxKind.AcquireLicense, { name }),

  // Tasks (as a poster)
  postTask: (s: PostTaskSpec) => of(TxKind.PostTask, postTaskPayload(s)),
  cancelTask: (task: TaskIdLike) => of(TxKind.CancelTask, { task: taskId(task) }),
  topUpTask: (o: { task: TaskIdLike; amount: bigint; feeAmount?: bigint }) =>
    of(TxKind.TopUpTask, { task: taskId(o.task), amount: o.amount, feeAmount: o.feeAmount ?? 0n }),
  acceptBid: (o: { task: TaskIdLike; worker: AddressLike }) => of(TxKind.AcceptBid, { task: taskId(o.task), worker: addr(o.worker) }),
  withdrawBid: (o: { task: TaskIdLike }) => of(TxKind.WithdrawBid, { task: taskId(o.task) }),
  dispute: (o: { task: TaskIdLike; lease: number }) => of(TxKind.Dispute, { task: taskId(o.task), lease: o.lease }),

  // Leases (as a worker)
  bid: (o: { task: TaskIdLike; price: bigint }) => of(TxKind.Bid, { task: taskId(o.task), price: o.price }),
  startLease: (o: { task: TaskIdLike; lease: number; endpoint: string }) =>
    of(TxKind.StartLease, { task: taskId(o.task), lease: o.lease, endpoint: o.endpoint }),
  reportUsage: (o: { task: TaskIdLike; lease: number; seq: number } & Usage) => of(TxKind.ReportUsage, { ...o, task: taskId(o.task) }),
  submitResult: (o: { task: TaskIdLike; lease: number; digest: string } & Usage) => of(TxKind.SubmitResult, { ...o, task: taskId(o.task) }),
  /** The app failed on its own inside the lease's limits: its outcome is the lease's result (docs/MARKET.md). */
  submitAppOutcome: (o: { task: TaskIdLike; lease: number; exitCode: number; oomKilled: boolean; cause: string; logDigest: string } & Usage) =>
    of(TxKind.SubmitAppOutcome, { ...o, task: taskId(o.task) }),
  /** Ends a compared lease (redundancy group, verifier seat) with a commitment to its result: `resultCommitment` (docs/MARKET.md). */
  commitResult: (o: { task: TaskIdLike; lease: number; commitment: Uint8Array } & Usage) => of(TxKind.CommitResult, { ...o, task: taskId(o.task) }),
  /** Reveals a committed result (`digest`) or app outcome once the lease shows `revealBy`. */
  revealResult: (o: {
    task: TaskIdLike;
    lease: number;
    salt: Uint8Array;
    digest?: string;
    outcome?: { exitCode: number; oomKilled: boolean; cause: string; logDigest: string };
  }) =>
    of(TxKind.RevealResult, {
      task: taskId(o.task),
      lease: o.lease,
      salt: o.salt,
      digest: o.outcome ? '' : (o.digest ?? ''),
      appOutcome: o.outcome !== undefined,
      exitCode: o.outcome?.exitCode ?? 0,
      oomKilled: o.outcome?.oomKilled ?? false,
      cause: o.outcome?.cause ?? '',
      logDigest: o.outcome?.logDigest ?? '',
    }),
  /** Gives back a lease that has not started because its image cannot be fetched (`reason`: the fetch's error code). */
  releaseLease: (o: { task: TaskIdLike; lease: number; reason: string }) => of(TxKind.ReleaseLease, { task: taskId(o.task), lease: o.lease, reason: o.reason }),
};
