import { frameworkRefusal, HttpError } from '../http/index.ts';
import { LedgerError, type LedgerErrorCode } from '../ledger/index.ts';
import { StoreCorruptError } from '../store/index.ts';

/** HTTP status for each ledger error: 4xx means the request, not the node, is at fault. */
const STATUS: Record<LedgerErrorCode, number> = {
  BAD_ENCODING: 400,
  TX_TOO_LARGE: 413,
  WRONG_CHAIN_ID: 400,
  BAD_SIGNATURE: 401,
  UNKNOWN_TX_KIND: 400,
  NONCE_REPLAYED: 409,
  NONCE_GAP: 409,
  INSUFFICIENT_FUNDS: 422,
  FUNDS_VESTING: 422,
  UNKNOWN_TOKEN: 422,
  TOKEN_EXISTS: 409,
  INVALID_AMOUNT: 422,
  INVALID_ARGUMENT: 422,
  OVER_QUOTA: 429,
  MEMPOOL_FULL: 503,
  DUPLICATE_TX: 409,
  UNKNOWN_ACCOUNT: 422,
  NOT_AUTHORIZED: 403,
  UNKNOWN_PROPOSAL: 422,
  ALREADY_APPROVED: 409,
  ALREADY_EXECUTED: 409,
  THRESHOLD_NOT_MET: 422,
  INSUFFICIENT_STAKE: 422,
  INVALID_ADDRESS: 400,
  INVALID_RECIPIENT: 422,
  INTERNAL_ERROR: 500,
  TASK_NOT_FOUND: 422,
  LEASE_NOT_FOUND: 422,
  NOT_LESSEE: 403,
  ALREADY_REGISTERED: 409,
  BOND_TOO_SMALL: 422,
  BOND_BELOW_MINIMUM: 422,
  NOT_A_WORKER: 422,
  WORKER_LEAVING: 409,
  BAD_DIGEST: 422,
  APP_EXISTS: 409,
  UNKNOWN_APP: 422,
  ALREADY_DEPRECATED: 409,
  ALREADY_LICENSED: 409,
  IMPOSSIBLE_TASK: 422,
  APP_DEPRECATED: 422,
  LICENSE_REQUIRED: 403,
  TASK_ENDED: 409,
  DISPUTE_PENDING: 409,
  BIDDING_CLOSED: 409,
  WORKER_UNFIT: 422,
  DUPLICATE_BID: 409,
  TOO_MANY_BIDS: 429,
  BID_NOT_FOUND: 422,
  LEASE_NOT_MATCHED: 409,
  LEASE_NOT_RUNNING: 409,
  PERIOD_SETTLED: 409,
  REPORT_GAP: 409,
  NOT_BATCH: 422,
  DUPLICATE_RESULT: 409,
  NOT_DISPUTABLE: 409,
  LEASE_RELEASED: 409,
  COMMIT_REQUIRED: 409,
  COMMIT_NOT_NEEDED: 409,
  NOT_COMMITTED: 409,
  ALREADY_REVEALED: 409,
  REVEAL_NOT_OPEN: 409,
  REVEAL_CLOSED: 409,
  REVEAL_MISMATCH: 422,
  PROPOSAL_CLOSED: 409,
  INVALID_PARAM: 422,
  UPGRADE_NEEDED: 503,
};

/** A refusal of the node's API (the project's HttpError, under the name the API has always used). */
export class ApiError extends HttpError {}

/** Any error a route or fastify raised, as the refusal the API answers with. */
export function toApiError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof LedgerError) return new ApiError(STATUS[e.code] ?? 400, e.code, e.message);
  // The node's own disk is at fault, and the answer says so rather than a bare internal error.
  if (e instanceof StoreCorruptError) return new ApiError(500, 'STORE_DAMAGED', e.message);
  return frameworkRefusal(e) ?? new ApiError(500, 'INTERNAL', 'internal error: the node logged it');
}
