import type { AppAnswer, LeaseAnswer, TaskDetailAnswer, ZeusClient } from '../sdk/index.ts';

// What an app's developer has earned, per version: the license fees the chain paid out of the
// escrow of every lease that ran it. The ledger keeps those on each lease (`feePaid`, and
// `feeHeld` for what a result under review still holds back), not on the app, so this sums the
// leases of the app's tasks as the node answers them: read-only, through the API.

/** The API's most tasks per list; an app with more shows "at least" these sums. */
export const TASKS_SCANNED = 1000;

export interface VersionEarnings {
  version: string;
  /** Token the fee is paid in (ZNC or a sub-token), as the version was published. */
  feeToken: string;
  /** Base units paid to the developer. */
  paid: bigint;
  /** Base units held back while a result is reviewed: paid when it is accepted. */
  held: bigint;
  /** Leases that paid or hold a fee. */
  leases: number;
  /** Tasks posted for the version. */
  tasks: number;
}

/** Fees per version from the app and its tasks with their leases (pure: the sums `app show` prints). */
export function earningsByVersion(app: AppAnswer, tasks: readonly Pick<TaskDetailAnswer, 'app' | 'version' | 'leases'>[]): VersionEarnings[] {
  const byVersion = new Map<string, VersionEarnings>(
    app.versions.map((v) => [v.version, { version: v.version, feeToken: v.feeToken, paid: 0n, held: 0n, leases: 0, tasks: 0 }]),
  );
  for (const t of tasks) {
    const e = t.app === app.name ? byVersion.get(t.version) : undefined;
    if (!e) continue;
    e.tasks++;
    for (const l of t.leases as readonly LeaseAnswer[]) {
      const paid = BigInt(l.feePaid);
      const held = BigInt(l.feeHeld);
      if (paid === 0n && held === 0n) continue;
      e.paid += paid;
      e.held += held;
      e.leases++;
    }
  }
  return [...byVersion.values()];
}

/** Asks the node for the app's tasks and their leases; `complete` is false when the list was cut at TASKS_SCANNED. */
export async function appEarnings(c: ZeusClient, app: AppAnswer): Promise<{ versions: VersionEarnings[]; complete: boolean }> {
  const { tasks } = await c.tasks({ app: app.name, limit: TASKS_SCANNED });
  const details: TaskDetailAnswer[] = [];
  // A few at a time: one request per task, and a node serves other users too.
  for (let i = 0; i < tasks.length; i += 16) details.push(...(await Promise.all(tasks.slice(i, i + 16).map((t) => c.task(t.id)))));
  return { versions: earningsByVersion(app, details), complete: tasks.length < TASKS_SCANNED };
}
