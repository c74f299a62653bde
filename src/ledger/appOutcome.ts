import { encode, type Infer } from '../codec/index.ts';
import { sha256, toHex, utf8 } from '../crypto/portable.ts';

// A batch workload's own failure inside its lease's limits — it exited non-zero, was killed at its
// memory cap or its max hours, or (wasm) trapped — is the lease's outcome, not the worker's fault
// (docs/MARKET.md, "Fairness: app failures and missing images"). The worker reports it with
// `SubmitAppOutcome`; the chain stores, as the lease's result digest, a digest over the canonical
// (exit code, OOM killed, cause), so redundancy and disputes compare an outcome exactly like a
// result: two honest workers running the same failing app report the same digest, and a worker
// that claims "the app failed" without running it is outvoted or loses the dispute. The log's
// digest is recorded beside it but not compared (logs may carry times and addresses).

/**
 * What stopped the app besides its own exit: '' (it exited by itself, non-zero), 'memory' (killed at
 * the lease's memory limit), 'time' (stopped at the task's max hours), 'disk' (killed at its /out
 * cap), 'pids' (its process limit), 'trap' (a wasm module trapped: its crash).
 */
export const APP_CAUSES = ['', 'memory', 'time', 'disk', 'pids', 'trap'] as const;
export type AppCause = (typeof APP_CAUSES)[number];

/** What is compared: the same app failing the same way gives the same bytes on every worker. */
export const AppOutcomeCanonicalSchema = {
  $id: 'AppOutcomeCanonical',
  fields: {
    /** The code the app exited with; 0 when it did not exit by itself (cause ≠ ''). */
    exitCode: { id: 1, type: 'uint32' },
    oomKilled: { id: 2, type: 'bool' },
    cause: { id: 3, type: 'string', max: 16 },
  },
} as const;
export type AppOutcomeCanonical = Infer<typeof AppOutcomeCanonicalSchema>;

/** A lease's reported app outcome, in state at `lout/<task>/<lease>`. */
export const AppOutcomeSchema = {
  $id: 'AppOutcome',
  fields: {
    ...AppOutcomeCanonicalSchema.fields,
    /** sha256 of the lease's log as the worker kept it (not compared). */
    logDigest: { id: 4, type: 'string', max: 71 },
    /** The digest compared (and stored as the lease's result digest). */
    digest: { id: 5, type: 'string', max: 71 },
  },
} as const;
export type AppOutcome = Infer<typeof AppOutcomeSchema>;

const DOMAIN = utf8('ZEUSNET/app-outcome/v1\0');

/** The digest an app outcome is compared by: sha256 of a domain tag and the canonical encoding. */
export function appOutcomeDigest(o: AppOutcomeCanonical): string {
  return `sha256:${toHex(sha256(DOMAIN, encode(AppOutcomeCanonicalSchema, { exitCode: o.exitCode, oomKilled: o.oomKilled, cause: o.cause })))}`;
}

/** Why an outcome is not canonical, or undefined: the rules the chain refuses a `SubmitAppOutcome` by. */
export function appOutcomeProblem(o: AppOutcomeCanonical): string | undefined {
  if (!(APP_CAUSES as readonly string[]).includes(o.cause)) return `cause must be one of ${APP_CAUSES.map((c) => `"${c}"`).join(', ')}`;
  if (o.cause === '' && o.exitCode === 0) return 'an app that exited 0 ended well: submit its result (SubmitResult), not an app outcome';
  if (o.cause !== '' && o.exitCode !== 0) return `an app stopped by "${o.cause}" did not exit by itself: its exit code is 0`;
  if (o.oomKilled !== (o.cause === 'memory')) return 'oomKilled is true exactly when the cause is "memory"';
  return undefined;
}

/** In words, for a lease's outcome: "exited 3", "killed at its memory limit (OOM)". */
export function describeAppOutcome(o: AppOutcomeCanonical): string {
  switch (o.cause) {
    case '':
      return `exited ${o.exitCode}`;
    case 'memory':
      return 'killed at its memory limit (OOM)';
    case 'time':
      return "stopped at the task's max hours";
    case 'disk':
      return 'killed at its disk limit';
    case 'pids':
      return 'stopped at its process limit';
    default:
      return 'trapped';
  }
}
