import type { Certificate, LeaseStateName, MarketEvent, TaskStateName } from '../ledger/index.client.ts';
import type { TaskNeeds } from '../market/index.ts';

// The wire contract of a node's API: what each route answers and what the event stream sends, as
// JSON. The server builds its answers as these types (src/api) and the SDK reads them as these
// types, so client and server cannot drift apart. Only types and constants: the browser console
// imports it. Amounts are ZNC base units (or the fee token's) as decimal strings, heights are
// numbers, addresses znc1…, ids and hashes hex.

/** How a ledger value travels as JSON: amounts as decimal strings, bytes as hex (21-byte addresses as znc1…). */
export type Wire<T> = T extends bigint
  ? string
  : T extends Uint8Array
    ? string
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

// ---------------------------------------------------------------- chain, accounts, transactions

/** Every refusal: a stable code and a message that tells the user what to do. */
export interface ErrorAnswer {
  error: { code: string; message: string };
}

/** POST /txs with one transaction: checked and held in the mempool, not yet committed. */
export interface SubmitAnswer {
  hash: string;
  chain: number;
  status: 'pending';
}

/** POST /txs with `txs`: one result per transaction, in order. */
export interface SubmitBatchAnswer {
  results: (SubmitAnswer | ErrorAnswer)[];
}

export interface TxStatusAnswer {
  status: 'pending' | 'committed' | 'rejected';
  hash: string;
  chain: number;
  height?: number;
  index?: number;
  error?: { code: string; message: string };
  /** A committed transaction, decoded. */
  tx?: TxAnswer;
  /** A committed transaction's Merkle inclusion proof in its segment, and the segment header. */
  inclusion?: InclusionAnswer;
  /** 'ok' for a committed transaction. */
  result?: 'ok';
}

/** A committed transaction: final (the bookkeepers' BFT certificate committed its block). */
export type FinalTx = TxStatusAnswer & { status: 'committed'; height: number; index: number };

/** One chain's segment header of a height, with its hash. */
export interface SegmentHeaderAnswer {
  chain: number;
  txCount: number;
  txRoot: string;
  stateRoot: string;
  receiptRoot: string;
  hash: string;
}

/** An RFC 6962 audit path from a transaction's hash (`leaf`) to its segment's transaction root. */
export interface InclusionProofAnswer {
  leaf: string;
  index: number;
  size: number;
  path: string[];
  root: string;
}

export interface InclusionAnswer {
  blockHash: string;
  segment: SegmentHeaderAnswer;
  proof: InclusionProofAnswer;
}

export interface TokenAnswer {
  symbol: string;
  name: string;
  decimals: number;
  /** Tokens per ZNC (base units). */
  anchorRate: string;
  /** ZNC (base units) deposited to back the token. */
  deposit: string;
  supply: string;
  /** Issuer address (znc1…). */
  issuer: string;
}

export interface BlockHeaderAnswer {
  hash: string;
  chainId: string;
  height: number;
  time: number;
  prevHash: string;
  proposer: string;
  txCount: number;
  segments: SegmentHeaderAnswer[];
}

/** Where all ZNC are (base units as strings), checked against the fixed supply. */
export interface SupplyAnswer {
  spendable: string;
  vesting: string;
  staked: string;
  unbonding: string;
  multisig: string;
  pool: string;
  anchored: string;
  inFlight: string;
  escrow: string;
  bonded: string;
  total: string;
  tokens: Record<string, { supply: string; backed: string; circulating: string }>;
}

export interface AccountAnswer {
  address: string;
  kind: 'key' | 'multisig' | 'system';
  homeChain: number;
  balances: Record<string, string>;
  znc: { balance: string; vestingLocked: string; spendable: string };
  /** ZNC still locked, by release time (ms). */
  vesting: { at: string; amount: string }[];
  nonces: Record<string, string>;
  staked: string;
  unbonding: { amount: string; releaseAt: number }[];
  quota: { limit: number; usedThisWindow: number; windowMs: number };
  multisig?: { label: string; members: string[]; threshold: number; proposals: ({ id: string } & Record<string, unknown>)[] };
}

export interface StatusAnswer {
  chainId: string;
  height: number;
  time: number;
  lastBlockHash: string;
  chains: { chain: number; kind: string; height: number; stateRoot: string }[];
  receiptsInFlight: number;
  mempool: number;
  /** This node's bookkeeper key (hex); its node key on a full node (consensus.fullNode). */
  bookkeeper: string;
  consensus: ConsensusAnswer | { mode: 'solo' };
  /** Set once the node's block production stopped for good (see GET /health). */
  halted: HaltAnswer | null;
  supply: SupplyAnswer;
  /** Snapshots this node keeps and serves, and how its chain began (docs/STATE_SYNC.md); absent on an embedded node. */
  stateSync?: StateSyncAnswer;
  /** The seat group this node is a member of (docs/OPERATORS.md, "A seat kept by a group"); absent when it signs alone or follows. */
  signerGroup?: SignerGroupAnswer;
}

/** A message the seat's key signed on this member, with when (ISO time). */
export interface GroupSignatureAnswer {
  height: number;
  round: number;
  step: 'proposal' | 'prevote' | 'precommit';
  at: string;
}

/** A seat group's member as it sees itself and its group. */
export interface SignerGroupAnswer {
  /** The group's name (one per seat). */
  group: string;
  /** This member's name. */
  member: string;
  /** The etcd client URLs it talks to. */
  endpoints: string[];
  /** Whether this member is the one that signs now (holds the group's leader key with a live lease). */
  active: boolean;
  /** The active member as this one last saw it (null: none, or not known yet). */
  leader: string | null;
  /** Times this member took the seat over from another member. */
  failovers: number;
  /** Signatures refused at etcd: the compare-and-swap of the group's mark failed, the mark forbade it, or etcd did not answer. */
  refusedCas: number;
  /** Signatures refused because this member was not active. */
  refusedInactive: number;
  /** Compare-and-swaps that succeeded (each signature this member made, or confirmed again). */
  casOk: number;
  /** When this member last became active (null: never since it started). */
  activeSince: string | null;
  /** Its first signature since it last became active: how long the seat went unsigned across a takeover. */
  firstSignedSinceActive: GroupSignatureAnswer | null;
  /** The last message it signed. */
  lastSigned: GroupSignatureAnswer | null;
}

/** State sync and snapshots as a node reports them. */
export interface StateSyncAnswer {
  /** How this node's chain began: replayed from genesis, or restored from a peer's snapshot. */
  joined: 'genesis' | 'snapshot';
  /** The snapshot height restored (joined by state sync). */
  restoredFrom?: number;
  /** The trust point's height the join was linked to. */
  trustHeight?: number;
  /** Blocks executed after the snapshot during the join (restoredFrom+1 .. trustHeight). */
  blocksExecuted?: number;
  /** How long the join took, from asking peers to the last block executed. */
  restoreMs?: number;
  /** Peers the join caught serving something false (a tampered chunk, a manifest or block that does not match). */
  penalizedPeers?: string[];
  /** The lowest height whose block this node holds (below it: pruned, or before its snapshot). */
  lowestBlock: number;
  /** The newest snapshot this node keeps and offers to joiners. */
  snapshotHeight?: number;
  snapshots: number[];
  /** Snapshots taken and chunks served since the node started. */
  snapshotsTaken: number;
  chunksServed: number;
  /** Blocks older than tip − N are deleted; absent: an archive node. */
  pruneKeepBlocks?: number;
}

/** Why a node no longer commits blocks. */
export interface HaltAnswer {
  /** What stopped and the error that stopped it. */
  reason: string;
  /** The last height the node committed. */
  height: number;
  /** When it stopped (wall clock, ISO 8601). */
  since: string;
  /**
   * Set when the node stopped for a planned upgrade its software lacks (governance): every node
   * stops at the same height; restarted with the upgrade's handler it goes on from there.
   */
  upgrade?: { name: string; height: number; info: string };
}

/** What GET /health answers: ok while the node can still commit blocks (503 with `error` once halted). */
export interface HealthAnswer {
  ok: boolean;
  height: number;
  halted?: HaltAnswer;
}

/**
 * What GET /health/ready answers: ready (200) when the node is in sync — its height within
 * `maxBehind` blocks of the best height its peers show, with at least one peer unless it alone is
 * the bookkeeper set — and its block production runs; 503 with `reason` otherwise.
 */
export interface ReadyAnswer {
  ready: boolean;
  height: number;
  /** The highest height the network committed as the peers show it (null on a solo node). */
  peersHeight: number | null;
  peers: number;
  maxBehind: number;
  reason?: string;
}

/** GET /blocks: recent main block headers, newest first. */
export interface BlocksAnswer {
  height: number;
  blocks: BlockHeaderAnswer[];
}

/** GET /tokens. */
export interface TokensAnswer {
  tokens: TokenAnswer[];
}

/** A bookkeepers' BFT certificate: signer indexes in the height's set, with their signatures. */
export type CertificateAnswer = Wire<Certificate>;

/** A main block: header fields, transaction hashes per chain, and the certificate that committed it. */
export interface BlockAnswer extends BlockHeaderAnswer {
  txs: string[][];
  certificate: CertificateAnswer;
  /** The previous height's certificate, which this block carries. */
  lastCommit: CertificateAnswer;
}

/** A committed transaction as blocks list it. */
export interface TxAnswer {
  hash: string;
  /** TxKind name, e.g. "PostTask". */
  kind: string;
  chain: number;
  /** Sender address (znc1…). */
  from: string;
  /** Sender's Ed25519 public key, hex. */
  sender: string;
  nonce: string;
  payload: Record<string, unknown>;
}

/** One chain's segment of a height, with its transactions. */
export interface SegmentAnswer {
  chain: number;
  height: number;
  header: SegmentHeaderAnswer;
  txs: TxAnswer[];
}

/** Rounds and peers of a node that decides blocks with other bookkeepers. */
export interface ConsensusAnswer {
  height: number;
  round: number;
  step: string;
  status: string;
  validators: number;
  /** Index in the bookkeeper set of the height, or -1 for a node that only follows. */
  self: number;
  peerId: string;
  /** Full multiaddrs (with /p2p/) other nodes dial: the announce addresses when set, else the bound ones. */
  listen: string[];
  /** The configured listen (bound) multiaddr. */
  bind: string;
  /** The API URL this node tells its peers, if any. */
  api?: string;
  /** True for a node without a bookkeeper key: it follows and never signs. */
  fullNode: boolean;
  /** Connected and scored peers: their announced addresses and the API URL they told (peer exchange). */
  peers: { id: string; score: number; addresses: string[]; api?: string; connected: boolean; banned: boolean }[];
  synced: number;
  lastCommitRound: number;
}

export interface BookkeepersAnswer {
  height: number;
  seats: number;
  epochLength: number;
  nextElection: number;
  set: string[];
  scheduled: { fromHeight: number; keys: string[] }[];
  candidates: {
    address: string;
    name: string;
    publicKey: string;
    weight: string;
    staked: string;
    inSet: boolean;
    missedInARow: number;
    missedTotal: string;
    proposed: string;
    /** Rewards earned this epoch, paid at its last height. */
    earned: string;
    jailedUntil: number | null;
    slashed: boolean;
  }[];
  votes: { voter: string; candidates: string[]; proxy: string | null; staked: string }[];
}

// ---------------------------------------------------------------- the event stream (GET /ws)

export interface BlockEvent {
  type: 'block';
  height: number;
  hash: string;
  time: number;
  /** The consensus round that committed it (0 unless proposers were skipped). */
  round: number;
  txCounts: number[];
  stateRoots: string[];
}

export type TxStatus = 'pending' | 'committed' | 'rejected';

export interface TxEvent {
  type: 'tx';
  hash: string;
  status: TxStatus;
  chain: number;
  height?: number;
  index?: number;
  error?: { code: string; message: string };
}

/** A market happening (a lease matched, a service low on escrow…) at a committed height. */
export interface MarketNodeEvent extends MarketEvent {
  type: 'market';
  height: number;
  chain: number;
}

/** What a governance event tells (see GovNodeEvent). */
export type GovEventKind =
  /** A proposal arrived on main with its first deposit. */
  | 'submitted'
  /** Its deposits reached the minimum: the vote is open until `votingEnd`. */
  | 'vote-opened'
  /** Its vote was counted: `outcome` says how it ended. */
  | 'vote-ended'
  /** Its deposit period ended short of the minimum; deposits were returned. */
  | 'expired'
  /** A passed param-change took effect: the parameters in `detail` are in force from the next height. */
  | 'param-changed'
  /** A passed upgrade is planned: every node stops at `upgradeHeight` unless its software knows `upgradeName`. */
  | 'upgrade-planned'
  /** A planned upgrade ran its handler at this height. */
  | 'upgrade-done'
  /** A passed proposal could not be carried out (`detail` says why), or a later upgrade replaced it. */
  | 'failed';

/**
 * A governance happening at a committed height: the node derives these after each commit from
 * the proposals' statuses on main (nothing of it is in the ledger's state or blocks).
 */
export interface GovNodeEvent {
  type: 'gov';
  kind: GovEventKind;
  /** The proposal id (decimal). */
  proposal: string;
  proposalType: ProposalTypeName;
  title: string;
  /** The proposal's status after this height. */
  status: ProposalStatusName;
  /** vote-ended: how the vote ended (its status: passed, rejected, vetoed, or failed when passed but not carried out). */
  outcome?: ProposalStatusName;
  /** Words for people: the parameters changed, the upgrade's name and height, why it failed. */
  detail: string;
  height: number;
}

export type NodeEvent = BlockEvent | TxEvent | MarketNodeEvent | GovNodeEvent;

/** The answer on /ws to a binary TxFrame: one result per transaction, in order, as POST /txs gives them. */
export interface SubmittedMessage {
  type: 'submitted';
  /** The frame's own `seq`, to match the answer to its frame. */
  seq: number;
  results: (SubmitAnswer | ErrorAnswer)[];
}

/**
 * A frame on /ws the node refused as a whole (malformed, too many transactions, too many frames
 * waiting, text where a binary frame was expected): the socket stays open, other frames go on.
 */
export interface FrameErrorMessage extends ErrorAnswer {
  type: 'error';
  /** The refused frame's `seq`, when it could be read. */
  seq?: number;
}

/** What /ws sends a client that submits over it. */
export type SubmissionMessage = SubmittedMessage | FrameErrorMessage;

// ---------------------------------------------------------------- the compute market

// Task and lease states are named as the ledger's lifecycle names them (src/ledger/market/lifecycle.ts).
export type { LeaseStateName, TaskStateName };
export type TaskKindName = 'batch' | 'service';

export interface GpuAnswer {
  model: string;
  memoryMiB: number;
  count: number;
}

export interface WorkerAnswer {
  address: string;
  /** Registered with a bond and not leaving. */
  active: boolean;
  /** Active with a bond of at least the chain's minimum: it may bid and be leased (canBeLeased). */
  leasable: boolean;
  /** ZNC base units it must add to its bond before it may be leased again ("0": none). */
  bondShortfall: string;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  bandwidthMbps: number;
  gpus: GpuAnswer[];
  runtimes: string[];
  region: string;
  endpoint: string;
  /** X25519 public key (hex) that tasks seal their secrets to. */
  sealKey: string;
  prices: { cpuCoreHour: string; memoryGiBHour: string; gpuHour: string };
  bond: string;
  benchmark: number;
  /** 0..1000. */
  rating: number;
  /**
   * How its leases ended. `appFailures`: leases whose app failed on its own (paid, not a fault);
   * `released`: leases it gave back before starting because the image could not be fetched (not a fault).
   */
  record: { completed: string; failed: string; abandoned: string; disputesLost: string; slashedTotal: string; appFailures: string; released: string };
  registeredAt: number;
  /** Height at which a leaving worker's bond returns; null while active. */
  leavingAt: number | null;
}

export interface AppVersionAnswer {
  name: string;
  version: string;
  digest: string;
  developer: string;
  feeToken: string;
  licenseFeePerHour: string;
  requiresLicense: boolean;
  deprecated: boolean;
  publishedAt: number;
  /** Leases of this version whose app failed on its own (outcome accepted). */
  failures: string;
  /** Leases of this version released by their worker because the image could not be fetched: a developer whose images vanish shows here. */
  releases: string;
}

export interface AppAnswer {
  name: string;
  owner: string;
  versions: AppVersionAnswer[];
  /** Addresses holding a license for the app. */
  licensees: string[];
}

/** What one replica of a task needs (as in a PostTask payload), without the price. */
export type TaskNeedsAnswer = Omit<TaskNeeds, 'maxPricePerHour'>;

export interface TaskAnswer {
  id: string;
  chain: number;
  state: TaskStateName;
  kind: TaskKindName;
  owner: string;
  app: string;
  version: string;
  image: string;
  /** The image the leases run. */
  digest: string;
  developer: string | null;
  needs: TaskNeedsAnswer;
  replicas: number;
  redundancy: number;
  maxPricePerHour: string;
  maxHours: number;
  ports: number[];
  sealedBytes: number;
  /** Inputs and secrets sealed to the candidate workers (hex; ciphertext, opened only by the winner). */
  sealed: string;
  bidWindowBlocks: number;
  retries: number;
  retriesLeft: number;
  postedAt: number;
  /** Last height that takes bids in the current window. */
  closeHeight: number;
  endedAt: number | null;
  graceUntil: number | null;
  escrow: string;
  feeEscrow: string;
  held: string;
  feeHeld: string;
  feeToken: string;
  licenseFeePerHour: string;
  bidCount: number;
  leaseCount: number;
  activeLeases: number;
  openSlots: number[];
  /** Why nobody bid (misfit code → workers), when a window closed empty; `workers` is how many were looked at. */
  noBidReasons: Record<string, number> | null;
}

export interface BidAnswer {
  index: number;
  worker: string;
  price: string;
  rating: number;
  height: number;
  /** It won a lease. */
  used: boolean;
  /** The worker took it back (WithdrawBid): it wins nothing. */
  withdrawn: boolean;
}

export interface UsageAnswer {
  cpuSeconds: string;
  memoryGiBSeconds: string;
  gpuSeconds: string;
  networkBytes: string;
  wallMs: string;
}

export interface LeaseAnswer {
  task: string;
  index: number;
  worker: string;
  state: LeaseStateName;
  /** Replica and copy (redundancy) the lease runs; null for a verifier. */
  replica: number | null;
  copy: number | null;
  /** For a verifier: the lease whose disputed result it checks. */
  verifies: number | null;
  price: string;
  matchedAt: number;
  startBy: number;
  reportBy: number | null;
  endpoint: string;
  /** Block time (ms). */
  startedAt: number | null;
  /** Block time (ms) up to which the worker has been paid or held: from the start, or the match while the lease waits to start. */
  paidUntil: number | null;
  reports: number;
  workerPaid: string;
  /** License fees paid to the developer, in `feeToken`. */
  feePaid: string;
  feeToken: string;
  held: string;
  feeHeld: string;
  /** '' until revealed when the result is compared (redundancy group, verifier seat): see `commitment`. */
  resultDigest: string;
  /** A compared lease's commitment to its result (hex; '' when none): docs/MARKET.md, "Fairness: commit and reveal". */
  commitment: string;
  /** Last height to reveal the committed result; null until every seat of its group has committed (or can no longer). */
  revealBy: number | null;
  usage: UsageAnswer;
  reviewEnd: number | null;
  disputeDeposit: string;
  endedAt: number | null;
  outcome: string;
  /** How the app failed on its own, when the worker reported that as the lease's outcome (its digest is `resultDigest`). */
  appOutcome: AppOutcomeAnswer | null;
}

export interface AppOutcomeAnswer {
  /** The code the app exited with; 0 when it did not exit by itself. */
  exitCode: number;
  oomKilled: boolean;
  /** What stopped it besides its own exit: '' | memory | time | disk | pids | trap. */
  cause: string;
  /** sha256 of the lease's log as the worker kept it. */
  logDigest: string;
}

export interface TaskDetailAnswer extends TaskAnswer {
  bids: BidAnswer[];
  leases: LeaseAnswer[];
}

/** A task's needs and the most it pays per hour: what `POST /market/quote` takes. */
export interface QuoteRequest {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB?: number;
  bandwidthMbps?: number;
  gpuCount?: number;
  gpuModel?: string;
  gpuMemoryMiB?: number;
  runtime: string;
  region?: string;
  minRating?: number;
  /** ZNC base units, decimal string. */
  maxPricePerHour: string;
}

export interface MisfitAnswer {
  code: string;
  message: string;
}

export interface QuoteAnswer {
  height: number;
  /** Registered workers looked at. */
  workers: number;
  /** Workers that could serve the task, best first, with their asking price per hour. */
  candidates: { worker: string; ask: string; rating: number }[];
  /** Every other worker with every reason it could not. */
  refused: { worker: string; ask: string; rating: number; reasons: MisfitAnswer[] }[];
  /** How many workers were refused for each reason. */
  counts: Record<string, number>;
}

export interface MarketParamsAnswer {
  minWorkerBond: string;
  workerUnbondingBlocks: number;
  startDeadlineBlocks: number;
  reportDeadlineBlocks: number;
  reviewBlocks: number;
  graceBlocks: number;
  lowEscrowMs: number;
  maxBidWindowBlocks: number;
  maxBidsPerTask: number;
  failSlashBp: number;
  wrongResultSlashBp: number;
  dividendPerLease: string;
  reasonScanLimit: number;
}

export interface TaskFilter {
  state?: TaskStateName;
  owner?: string;
  /** An app name, or name@version. */
  app?: string;
  limit?: number;
}

export interface LeaseFilter {
  worker?: string;
  state?: LeaseStateName;
  limit?: number;
}

/** GET /workers. */
export interface WorkersAnswer {
  height: number;
  workers: WorkerAnswer[];
}

/** GET /apps. */
export interface AppsAnswer {
  apps: AppAnswer[];
}

/** GET /tasks. */
export interface TasksAnswer {
  height: number;
  tasks: TaskAnswer[];
}

/** GET /tasks/:id: the task with its bids and leases, at the height it was read. */
export type TaskAtHeightAnswer = TaskDetailAnswer & { height: number };

/** GET /leases. */
export interface LeasesAnswer {
  height: number;
  leases: LeaseAnswer[];
}

// ---------------------------------------------------------------- governance

export type ProposalTypeName = 'text' | 'param-change' | 'reserve-spend' | 'upgrade';
export type ProposalStatusName = 'deposit' | 'voting' | 'passed' | 'rejected' | 'vetoed' | 'executed' | 'failed' | 'expired';
export type VoteOptionName = 'yes' | 'no' | 'abstain' | 'veto';
/** What a count decides: quorum first, then veto, then threshold (src/ledger/gov/lifecycle.ts voteOutcome). */
export type VoteOutcomeName = 'passed' | 'rejected-quorum' | 'rejected' | 'vetoed';

/** A proposal as GET /gov/proposals lists it. Heights are null until they are set. */
export interface ProposalSummary {
  /** Decimal id (1, 2, …). */
  id: string;
  type: ProposalTypeName;
  title: string;
  status: ProposalStatusName;
  /** znc1… */
  proposer: string;
  /** All ever deposited on it (base units); kept after the deposits are returned or sent to the pool (GET /gov/proposals/:id lists what is still held). */
  deposit: string;
  submitHeight: number;
  /** Last height of the deposit period. */
  depositEnd: number;
  /** The vote opened at `votingStart` and is counted at the start of `votingEnd`: votes commit in the heights between (votingStart … votingEnd − 1). */
  votingStart: number | null;
  votingEnd: number | null;
  /** param-change: the height the change takes effect (once passed). */
  executeAt: number | null;
  /** Hash of the GovPropose transaction (hex): how its sender finds the proposal it made. */
  tx: string;
}

/** GET /gov/proposals: every proposal, newest first. */
export interface ProposalsAnswer {
  height: number;
  proposals: ProposalSummary[];
}

/** One staker's weight in a count and whose vote decided it. */
export interface VoterWeightAnswer {
  /** The staker (znc1…). */
  voter: string;
  /** Its bonded stake, base units. */
  weight: string;
  option: VoteOptionName;
  /** The proxy whose vote the weight followed (absent: the staker voted itself). */
  via?: string;
}

/**
 * A vote's count. `final`: the one recorded when the vote ended; otherwise the live one, as the
 * vote would be counted if it ended now (weights are bonded stake as it stands). The lines are
 * drawn with the governance parameters in force now.
 */
export interface GovTallyAnswer {
  final: boolean;
  /** Weights (base units) per option. */
  yes: string;
  no: string;
  abstain: string;
  veto: string;
  /** All bonded stake: quorum is a share of it. */
  bonded: string;
  /** yes + no + abstain + veto. */
  voted: string;
  /** `needed`: the least weight that must vote (base units; the count needs voted × 10,000 ≥ bp × bonded). */
  quorum: { bp: number; needed: string; reached: boolean };
  /** Passes with yes more than `bp` of yes + no + veto. `yesShareBp`: the share now (null without decisive votes). */
  threshold: { bp: number; yesShareBp: number | null; met: boolean };
  /** Vetoed with veto more than `bp` of all votes. `vetoShareBp`: the share now (null without votes). */
  vetoLine: { bp: number; vetoShareBp: number | null; over: boolean };
  /** How the vote ended (final), or how it would end if it ended now. */
  outcome: VoteOutcomeName;
  /** Who weighs what (live counts only: the final record keeps the sums, not the stakes behind them). */
  weights: VoterWeightAnswer[] | null;
}

/** GET /gov/proposals/:id: a proposal with everything it asks for, its deposits, votes and count. */
export interface ProposalAnswer extends ProposalSummary {
  height: number;
  description: string;
  /** param-change: each parameter, its proposed value and its value in force now (decimal strings, the parameter's own unit). */
  changes: { name: string; value: string; current: string }[];
  /** reserve-spend: who is paid and how much (base units). */
  recipient: string | null;
  amount: string;
  /** upgrade: its name, the height every node stops at, and where to get the software. */
  upgrade: { name: string; height: number; info: string } | null;
  /** reserve-spend, once passed: the reserve multisig's proposal that pays, its approvals and whether it was executed. */
  reserveProposal: { id: string; multisig: string; approvals: number; threshold: number; executed: boolean } | null;
  /** Why it was rejected or failed. */
  note: string;
  /** Deposits held, by depositor (empty once returned or sent to the pool). */
  deposits: { depositor: string; amount: string }[];
  /** Votes cast, by voter (each voter's last). */
  votes: { voter: string; option: VoteOptionName }[];
  /** Null before the vote opens (deposit period) or when it never did (expired). */
  tally: GovTallyAnswer | null;
}

/** A parameter governance may change. Values are decimal strings in the parameter's own unit. */
export interface GovParamAnswer {
  /** As the genesis file nests it: `name`, `market.name` or `governance.name`. */
  name: string;
  /** int: a whole number; amount: ZNC base units; bp: basis points (10,000 = 100 %). */
  type: 'int' | 'amount' | 'bp';
  min: string;
  max: string;
  about: string;
  value: string;
  genesis: string;
  /** The executed param-change proposal that set the value in force (null: the genesis value). */
  changedBy: string | null;
}

/** GET /gov/params: the governable parameters, the upgrade planned and the upgrades done. */
export interface GovParamsAnswer {
  height: number;
  params: GovParamAnswer[];
  upgradePlan: { name: string; height: number; info: string; proposal: string } | null;
  upgradesDone: { name: string; height: number; proposal: string }[];
}
