import { MisfitCode } from '../market/index.ts';
import { taskOutcome, type LeaseAnswer, type QuoteAnswer, type TaskDetailAnswer } from '../sdk/index.ts';
import { znc } from './marketArgs.ts';

// Following a task to its end (`zeus task wait`, `zeus task post --follow`) and saying why nobody
// can serve one (a quote with no candidates). The functions that read answers are pure, so what a
// user sees is tested without a network; the SDK's `waitForTask` is the loop around them.

/** Why no registered worker could serve a task now, from its quote, with the price first when it is the reason. */
export function noCandidatesReason(q: QuoteAnswer, maxPricePerHour: bigint): string {
  if (q.workers === 0) return 'no worker is registered on the network yet';
  // Workers refused for the price alone would serve it at their ask: the cheapest is the price to offer.
  const priceOnly = q.refused.filter((r) => r.reasons.length > 0 && r.reasons.every((m) => m.code === MisfitCode.Price));
  if (priceOnly.length > 0) {
    const cheapest = priceOnly.map((r) => BigInt(r.ask)).reduce((a, b) => (b < a ? b : a));
    return `the max price is too low: --max-price ${znc(maxPricePerHour)}/h is below the ask of every worker that could serve it (the cheapest asks ${znc(cheapest)}/h; ${priceOnly.length} worker(s) would take it at their ask): raise --max-price to at least ${znc(cheapest).replace(' ZNC', '')}`;
  }
  const counts = Object.entries(q.counts)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ');
  return `none of the ${q.workers} registered worker(s) fits it (${counts}; see zeus task quote for each reason)`;
}

/** What `task wait --json` prints: the task's end and each lease's. */
export function outcomeJson(t: TaskDetailAnswer): Record<string, unknown> {
  const outcome = taskOutcome(t);
  return {
    task: t.id,
    state: t.state,
    outcome,
    ok: outcome === 'succeeded',
    endedAt: t.endedAt,
    noBidReasons: t.noBidReasons,
    leases: t.leases.map((l) => ({
      lease: l.index,
      worker: l.worker,
      state: l.state,
      outcome: l.outcome,
      resultDigest: l.resultDigest,
      workerPaid: l.workerPaid,
      feePaid: l.feePaid,
      feeToken: l.feeToken,
      appOutcome: l.appOutcome,
    })),
  };
}

/** "2 PRICE, 1 CPU": why a window closed with no bid. */
function noBidText(r: Record<string, number> | null): string {
  if (!r) return 'nobody bid';
  const { workers, ...counts } = r;
  const parts = Object.entries(counts).map(([code, n]) => `${n} ${code}`);
  const why = parts.length ? parts.join(', ') : 'none refused it, none bid';
  return `nobody bid: of ${workers ?? '?'} registered worker(s), ${why}${counts[MisfitCode.Price] ? ' (PRICE: --max-price is below their ask; zeus task quote shows it)' : ''}`;
}

/** The final line: how the task ended, and what to do next. */
export function outcomeLine(t: TaskDetailAnswer, who: (a: string) => string = (a) => a): string {
  const outcome = taskOutcome(t);
  const head = `task ${t.id} ${outcome} (${t.state}${t.endedAt !== null ? ` at height ${t.endedAt}` : ''})`;
  if (t.leases.length === 0) return `${head}: ${noBidText(t.noBidReasons)}`;
  const leases = t.leases.map((l) => {
    const failed = l.appOutcome
      ? `: the app failed (${l.appOutcome.cause === '' ? `exit code ${l.appOutcome.exitCode}` : `stopped by ${l.appOutcome.cause}${l.appOutcome.oomKilled ? ', OOM killed' : ''}`}; zeus task logs ${t.id})`
      : l.outcome
        ? ` (${l.outcome})`
        : '';
    const result = l.resultDigest && !l.appOutcome ? `, result ${l.resultDigest}` : '';
    return `lease ${l.index} on ${who(l.worker)} ${l.state}${failed}${result}; worker paid ${znc(l.workerPaid)}, license fees ${l.feeToken === 'ZNC' ? znc(l.feePaid) : `${l.feePaid} ${l.feeToken} base units`}`;
  });
  const next = outcome === 'succeeded' && t.kind === 'batch' ? `; fetch the result: zeus task result ${t.id}` : '';
  return `${head}: ${leases.join('; ')}${next}`;
}

/** What a person watching a task sees change: the window, bids, each lease's state, worker and deadlines. */
export interface TaskSeen {
  state?: string;
  bids: number;
  leases: Map<number, string>;
}

export const newTaskSeen = (): TaskSeen => ({ bids: 0, leases: new Map() });

/** Lines for what changed since `seen` (which it updates). */
export function taskChanges(seen: TaskSeen, t: TaskDetailAnswer, who: (a: string) => string = (a) => a): string[] {
  const out: string[] = [];
  if (seen.state !== t.state) {
    out.push(
      t.state === 'open'
        ? `task ${t.state}: takes bids until height ${t.closeHeight}`
        : t.state === 'running'
          ? `task running: ${t.activeLeases} lease(s) live`
          : `task ${t.state}`,
    );
    seen.state = t.state;
  }
  for (const b of t.bids.slice(seen.bids)) out.push(`bid from ${who(b.worker)}: ${znc(b.price)}/h (rating ${b.rating})`);
  seen.bids = t.bids.length;
  for (const l of t.leases) {
    if (seen.leases.get(l.index) === l.state) continue;
    seen.leases.set(l.index, l.state);
    out.push(leaseChange(l, who));
  }
  return out;
}

function leaseChange(l: LeaseAnswer, who: (a: string) => string): string {
  const w = who(l.worker);
  switch (l.state) {
    case 'matched':
      return `lease ${l.index} matched to ${w} at ${znc(l.price)}/h; it must start by height ${l.startBy}`;
    case 'started':
    case 'running':
      return `lease ${l.index} ${l.state} on ${w}${l.endpoint ? `, endpoint ${l.endpoint}` : ''}${l.reportBy !== null ? `; next usage report by height ${l.reportBy}` : ''}`;
    case 'completed':
      return l.appOutcome
        ? `lease ${l.index} completed on ${w}: the app failed on its own; review until height ${l.reviewEnd}`
        : `lease ${l.index} completed on ${w}: result ${l.resultDigest || '(committed, revealed later)'}; review until height ${l.reviewEnd}`;
    default:
      return `lease ${l.index} ${l.state} on ${w}${l.outcome ? `: ${l.outcome}` : ''}`;
  }
}
