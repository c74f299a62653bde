// The market's rules that do not depend on chain state: which worker can serve which task, how
// bids rank, what a worker asks, how a record becomes a rating. The ledger applies them to
// bids and bid windows, the worker agent to decide what to bid on, the CLI to quote.
export * from './matcher.ts';
export * from './rating.ts';
export * from './draw.ts';
export * from './results.ts';
export * from './eligibility.ts';
