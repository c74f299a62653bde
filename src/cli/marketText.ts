import { ZNC } from '../ledger/index.ts';
import type { AppAnswer, LeaseAnswer, QuoteAnswer, TaskDetailAnswer, WorkerAnswer } from '../sdk/index.ts';
import type { VersionEarnings } from './appEarnings.ts';
import { keystore, type GlobalOptions } from './context.ts';
import { needsText, znc } from './marketArgs.ts';

// How the market reads to a person: one place for the lines `worker`, `app`, `task`, `lease`
// and `bid` print, so a worker or a lease looks the same wherever it shows up.

/** Addresses of the home's keys by name, so output can say "gpu-1 (znc1…)" instead of a bare address. */
export function keyNames(g: GlobalOptions): (address: string) => string {
  const names = new Map(
    keystore(g)
      .list()
      .map((k) => [k.address, k.name]),
  );
  return (a) => (names.has(a) ? `${names.get(a)} (${a})` : a);
}

export function workerText(w: WorkerAnswer, who: (a: string) => string): string {
  const gpus = w.gpus.map((x) => `${x.count}× ${x.model} ${x.memoryMiB} MiB`).join(', ') || 'no GPU';
  return [
    `worker ${who(w.address)}: ${w.active ? (w.leasable ? 'active' : `active but not leased: its bond is below the minimum; add ${znc(w.bondShortfall)} (zeus worker update --add-bond)`) : w.leavingAt !== null ? `leaving, bond returns at height ${w.leavingAt}` : 'inactive (no bond)'}`,
    `  offers   ${w.cpuMillis / 1000} cores, ${w.memoryMiB} MiB memory, ${w.diskMiB} MiB disk, ${w.bandwidthMbps} Mbit/s, ${gpus}`,
    `  runs     ${w.runtimes.join(', ')}${w.region ? ` in ${w.region}` : ''}; endpoint ${w.endpoint}`,
    `  asks     ${znc(w.prices.cpuCoreHour)}/core-hour, ${znc(w.prices.memoryGiBHour)}/GiB-hour, ${znc(w.prices.gpuHour)}/GPU-hour`,
    `  bond     ${znc(w.bond)} (slashed so far ${znc(w.record.slashedTotal)})`,
    `  rating   ${w.rating} (claimed benchmark ${w.benchmark}, not rated; completed ${w.record.completed}, failed ${w.record.failed}, abandoned ${w.record.abandoned}, disputes lost ${w.record.disputesLost})`,
    `  not its fault: ${w.record.appFailures} lease(s) whose app failed on its own, ${w.record.released} released before starting (image not fetchable)`,
    `  seal key ${w.sealKey}; registered at height ${w.registeredAt}`,
  ].join('\n');
}

export function appText(
  a: AppAnswer,
  who: (a: string) => string,
  feeText: (amount: string, token: string) => string,
  earnings?: { versions: VersionEarnings[]; complete: boolean },
): string {
  const earned = (version: string): string[] => {
    const e = earnings?.versions.find((x) => x.version === version);
    if (!e) return [];
    const held = e.held > 0n ? ` (+${feeText(e.held.toString(), e.feeToken)} held while results are reviewed)` : '';
    return [
      `             earned ${earnings?.complete ? '' : 'at least '}${feeText(e.paid.toString(), e.feeToken)}${held} in license fees from ${e.leases} lease(s) of ${e.tasks} task(s)`,
    ];
  };
  return [
    `app ${a.name} by ${who(a.owner)}`,
    ...a.versions.flatMap((v) => [
      `  ${v.version.padEnd(10)} ${v.digest}  fee ${feeText(v.licenseFeePerHour, v.feeToken)}/h to ${who(v.developer)}${v.requiresLicense ? ', license required' : ''}${v.deprecated ? ', DEPRECATED' : ''} (height ${v.publishedAt})${v.releases !== '0' ? `; ${v.releases} lease(s) released: image not fetchable` : ''}${v.failures !== '0' ? `; failed on its own in ${v.failures} lease(s)` : ''}`,
      ...earned(v.version),
    ]),
    ...(a.licensees.length ? [`  licensed to ${a.licensees.map(who).join(', ')}`] : []),
  ].join('\n');
}

export function quoteText(q: QuoteAnswer, who: (a: string) => string): string {
  const lines = [`quote at height ${q.height} over ${q.workers} registered worker(s): ${q.candidates.length} could serve, ${q.refused.length} could not`];
  if (q.candidates.length) {
    lines.push('could serve (best first):');
    for (const c of q.candidates) lines.push(`  ${who(c.worker)}  asks ${znc(c.ask)}/h  rating ${c.rating}`);
  }
  if (q.refused.length) {
    lines.push('could not serve:');
    for (const r of q.refused) {
      lines.push(`  ${who(r.worker)}  would ask ${znc(r.ask)}/h  rating ${r.rating}`);
      for (const m of r.reasons) lines.push(`    ${m.code.padEnd(10)} ${m.message}`);
    }
  }
  return lines.join('\n');
}

export function leaseText(l: LeaseAnswer, who: (a: string) => string): string {
  const role = l.verifies !== null ? `verifier of lease ${l.verifies}` : `replica ${l.replica} copy ${l.copy}`;
  const fees = l.feeToken === ZNC ? znc(l.feePaid) : `${l.feePaid} ${l.feeToken} base units`;
  const lines = [
    `lease ${l.index} of task ${l.task}: ${l.state}${l.outcome ? ` (${l.outcome})` : ''}`,
    `  worker  ${who(l.worker)}, ${role}, ${znc(l.price)}/h`,
  ];
  if (l.state === 'matched') lines.push(`  matched at height ${l.matchedAt}; the worker must start it by height ${l.startBy}`);
  else lines.push(`  matched at height ${l.matchedAt}${l.startedAt !== null ? `, started at ${new Date(l.startedAt).toISOString()}` : ''}`);
  if (l.endpoint) lines.push(`  endpoint ${l.endpoint}`);
  if (l.reportBy !== null && l.endedAt === null) lines.push(`  ${l.reports} usage report(s); the next is due by height ${l.reportBy}`);
  lines.push(`  paid    ${znc(l.workerPaid)} to the worker, ${fees} in license fees; held for review ${znc(l.held)}`);
  if (l.resultDigest) lines.push(`  result  ${l.resultDigest}${l.reviewEnd !== null ? ` (review until height ${l.reviewEnd})` : ''}`);
  if (l.appOutcome)
    lines.push(
      `  app     failed on its own: ${l.appOutcome.cause === '' ? `exit code ${l.appOutcome.exitCode}` : `stopped by ${l.appOutcome.cause}${l.appOutcome.oomKilled ? ' (OOM killed)' : ''}`}; log ${l.appOutcome.logDigest}`,
    );
  if (l.endedAt !== null) lines.push(`  ended at height ${l.endedAt}`);
  return lines.join('\n');
}

/** One line per lease, for lists. */
export function leaseLine(l: LeaseAnswer, who: (a: string) => string, withTask = true): string {
  return `${withTask ? `${l.task} ` : ''}#${l.index}  ${l.state.padEnd(9)} ${who(l.worker)}  ${znc(l.price)}/h  matched at ${l.matchedAt}  paid ${znc(l.workerPaid)}${l.outcome ? `  (${l.outcome})` : ''}`;
}

export function taskText(t: TaskDetailAnswer, who: (a: string) => string): string {
  const what = t.app ? `app ${t.app}@${t.version} (${t.digest})` : `image ${t.digest}`;
  const fee = t.licenseFeePerHour !== '0' ? `; license fee ${t.feeToken === ZNC ? znc(t.licenseFeePerHour) : `${t.licenseFeePerHour} ${t.feeToken}`}/h` : '';
  const lines = [
    `task ${t.id} (chain ${t.chain}): ${t.state}, ${t.kind}`,
    `  owner   ${who(t.owner)}`,
    `  runs    ${what}`,
    `  needs   ${needsText(t.needs)}`,
    `  order   ${t.replicas} replica(s) × redundancy ${t.redundancy}; at most ${znc(t.maxPricePerHour)}/h for ${t.maxHours} h${fee}`,
    `  window  ${t.bidWindowBlocks} blocks, ${t.state === 'open' ? 'takes bids until' : 'last closed after'} height ${t.closeHeight}; retries left ${t.retriesLeft}; open slots ${t.openSlots.length}`,
    `  escrow  ${znc(t.escrow)}${t.held !== '0' ? ` (of which ${znc(t.held)} held for review)` : ''}${t.feeToken !== ZNC ? `, ${t.feeEscrow} ${t.feeToken}` : ''}`,
  ];
  if (t.graceUntil !== null) lines.push(`  GRACE   escrow is low: the service stops after height ${t.graceUntil} unless topped up`);
  if (t.endedAt !== null) lines.push(`  ended at height ${t.endedAt}`);
  if (t.noBidReasons) {
    const { workers, ...counts } = t.noBidReasons;
    lines.push(
      `  no bids: of ${workers ?? '?'} registered worker(s), ${
        Object.entries(counts)
          .map(([code, n]) => `${n} ${code}`)
          .join(', ') || 'none refused'
      }`,
    );
  }
  lines.push(`  bids (${t.bids.length}):`);
  for (const b of t.bids)
    lines.push(
      `    #${b.index} ${who(b.worker)} ${znc(b.price)}/h rating ${b.rating} at height ${b.height}${b.used ? ' [won a lease]' : b.withdrawn ? ' [withdrawn]' : ''}`,
    );
  lines.push(`  leases (${t.leases.length}):`);
  for (const l of t.leases) lines.push(`    ${leaseLine(l, who, false)}`);
  return lines.join('\n');
}
