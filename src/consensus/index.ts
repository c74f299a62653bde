// Consensus: Tendermint-style BFT agreement among the bookkeepers on one block per height.
// - core.ts: the algorithm as a pure step function (no clock, network, disk or randomness);
// - proposal.ts: the signed proposal message that carries a block;
// - signer.ts: the double-sign guard a host consults, with a synced write, before every signature;
// - rounds.ts: what a host logs about rounds (each change with its reason, slow heights);
// - host.ts: the host around the core (signing, messages, timers, commits, catch-up) with every
//   piece of I/O injected: the node (src/node/bftProducer.ts) and the simulator (sim/) run the same one.
// A test harness (testing.ts) drives the core directly.
export {
  DEFAULT_TIMEOUTS,
  DEVNET_TIMEOUTS,
  gossip,
  heightRelation,
  initialState,
  MAX_FUTURE_ROUNDS,
  MAX_PROPOSALS_PER_ROUND,
  proposerIndex,
  skipThreshold,
  step,
  timeoutDelay,
  type ConsensusConfig,
  type ConsensusInput,
  type ConsensusOutput,
  type ConsensusState,
  type ProposalInput,
  type Step,
  type StepResult,
  type TimeoutKind,
  type TimeoutParams,
  type TransitionReason,
} from './core.ts';
export * from './rounds.ts';
export * from './catchup.ts';
export * from './driver.ts';
export * from './proposal.ts';
export * from './signer.ts';
export * from './host.ts';
