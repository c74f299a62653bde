/** Stable error codes a client can branch on; each message tells the user what went wrong. */
export type LedgerErrorCode =
  | 'BAD_ENCODING'
  | 'TX_TOO_LARGE'
  | 'WRONG_CHAIN_ID'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_TX_KIND'
  | 'NONCE_REPLAYED'
  | 'NONCE_GAP'
  | 'INSUFFICIENT_FUNDS'
  | 'FUNDS_VESTING'
  | 'UNKNOWN_TOKEN'
  | 'TOKEN_EXISTS'
  | 'INVALID_AMOUNT'
  | 'INVALID_ARGUMENT'
  | 'OVER_QUOTA'
  | 'MEMPOOL_FULL'
  | 'DUPLICATE_TX'
  | 'UNKNOWN_ACCOUNT'
  | 'NOT_AUTHORIZED'
  | 'UNKNOWN_PROPOSAL'
  | 'ALREADY_APPROVED'
  | 'ALREADY_EXECUTED'
  | 'THRESHOLD_NOT_MET'
  | 'INSUFFICIENT_STAKE'
  /** An address field holds no address of a known kind. */
  | 'INVALID_ADDRESS'
  /** Value or rights would go to an address nobody can ever spend from. */
  | 'INVALID_RECIPIENT'
  /**
   * The ledger failed while applying the transaction (a bug, not a fault of the sender): the
   * transaction is refused alike on every node, and the node logs it with its hash.
   */
  | 'INTERNAL_ERROR'
  // the compute market
  | 'TASK_NOT_FOUND'
  | 'LEASE_NOT_FOUND'
  | 'NOT_LESSEE'
  | 'ALREADY_REGISTERED'
  | 'BOND_TOO_SMALL'
  /** A worker slashed below the minimum bond is not leased until it tops up. */
  | 'BOND_BELOW_MINIMUM'
  | 'NOT_A_WORKER'
  | 'WORKER_LEAVING'
  | 'BAD_DIGEST'
  | 'APP_EXISTS'
  | 'UNKNOWN_APP'
  | 'ALREADY_DEPRECATED'
  | 'ALREADY_LICENSED'
  | 'IMPOSSIBLE_TASK'
  | 'APP_DEPRECATED'
  | 'LICENSE_REQUIRED'
  | 'TASK_ENDED'
  | 'DISPUTE_PENDING'
  | 'BIDDING_CLOSED'
  | 'WORKER_UNFIT'
  | 'DUPLICATE_BID'
  | 'TOO_MANY_BIDS'
  | 'BID_NOT_FOUND'
  | 'LEASE_NOT_MATCHED'
  | 'LEASE_NOT_RUNNING'
  | 'PERIOD_SETTLED'
  | 'REPORT_GAP'
  | 'NOT_BATCH'
  | 'DUPLICATE_RESULT'
  | 'NOT_DISPUTABLE'
  /** The worker released a lease of this task (its image could not be fetched) and may not bid on it again. */
  | 'LEASE_RELEASED'
  /** Commit and reveal (docs/MARKET.md, "Fairness: commit and reveal"). */
  | 'COMMIT_REQUIRED'
  | 'COMMIT_NOT_NEEDED'
  | 'NOT_COMMITTED'
  | 'ALREADY_REVEALED'
  | 'REVEAL_NOT_OPEN'
  | 'REVEAL_CLOSED'
  | 'REVEAL_MISMATCH'
  // governance
  /** The proposal takes no vote or deposit now (its vote is not open, or it has ended). */
  | 'PROPOSAL_CLOSED'
  /** A parameter change names no governable parameter, or a value outside its bounds. */
  | 'INVALID_PARAM'
  /** The height is an upgrade's and this node's software does not know it. */
  | 'UPGRADE_NEEDED';

export class LedgerError extends Error {
  override name = 'LedgerError';
  readonly code: LedgerErrorCode;
  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    // A refusal is an answer, not a bug: no stack trace to capture (nodes refuse thousands a second).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.code = code;
  }
}

export function fail(code: LedgerErrorCode, message: string): never {
  throw new LedgerError(code, message);
}
