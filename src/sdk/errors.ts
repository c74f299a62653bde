// The SDK's errors: a node's refusal (its stable code) and a transaction the ledger refused.

/** An error answer of a node: `code` is stable, `message` tells the user what to do. */
export class NodeApiError extends Error {
  override name = 'NodeApiError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A transaction the ledger refused (at submission or when executing it). */
export class TxRejectedError extends NodeApiError {
  override name = 'TxRejectedError';
  readonly hash: string;
  /** Refused by the node it was submitted to, as it answered (with `status`), rather than later. */
  readonly atSubmission: boolean;
  constructor(hash: string, code: string, message: string, o: { status?: number; atSubmission?: boolean } = {}) {
    super(o.status ?? 422, code, message);
    this.hash = hash;
    this.atSubmission = o.atSubmission ?? false;
  }
}
