import * as stores from '../stores.ts';
import type { Infer } from '../../codec/index.ts';
import { decode, encode } from '../../codec/index.ts';
import { encodeAddress, systemAddress, toHex } from '../../crypto/portable.ts';
import { bondShortfall, isActive, ratingOf, RUNTIMES, type BondRule, type TaskNeeds, type WorkerOffer } from '../../market/index.ts';
import { credit, readAccount, writeAccount, type ExecContext } from '../context.ts';
import { fail } from '../errors.ts';
import type { Task, Worker, WorkerSchema } from '../marketEntries.ts';
import { MAIN_CHAIN, ZNC } from '../params.ts';
import { ReceiptKind, WorkerOutcome, WorkerOutcomeSchema, type Receipt } from '../receipts.ts';
import { REWARDS_POOL_NAME, WORKER_DIVIDEND } from '../systemAccounts.ts';
import type { Tx } from '../tx.ts';

// Workers as the market sees them. The registry is on main: a worker's resources, prices, bond,
// record and rating. A lease's outcome on an inner chain reaches it by a WorkerRecord receipt
// (slashes come out of the bond there); the matcher (src/market) sees a worker as a WorkerOffer.

/** A registered worker as the matcher sees it; `rule` is the chain's bond minimum (canBeLeased). */
export function workerOffer(addrHex: string, w: Worker, rule: BondRule): WorkerOffer {
  return {
    worker: addrHex,
    cpuMillis: w.cpuMillis,
    memoryMiB: w.memoryMiB,
    diskMiB: w.diskMiB,
    bandwidthMbps: w.bandwidthMbps,
    gpus: w.gpus,
    runtimes: w.runtimes,
    region: w.region,
    priceCpuCoreHour: w.priceCpuCoreHour,
    priceMemoryGiBHour: w.priceMemoryGiBHour,
    priceGpuHour: w.priceGpuHour,
    rating: w.rating,
    active: isActive(w),
    bondShortfall: bondShortfall(w, rule),
    bond: w.bond,
  };
}

export function taskNeeds(t: Pick<Task, keyof TaskNeeds | 'maxPricePerHour'>): TaskNeeds {
  return {
    cpuMillis: t.cpuMillis,
    memoryMiB: t.memoryMiB,
    diskMiB: t.diskMiB,
    bandwidthMbps: t.bandwidthMbps,
    gpuCount: t.gpuCount,
    gpuModel: t.gpuModel,
    gpuMemoryMiB: t.gpuMemoryMiB,
    runtime: t.runtime,
    region: t.region,
    minRating: t.minRating,
    maxPricePerHour: t.maxPricePerHour,
  };
}

/** The checks a worker's resources, runtimes and endpoint pass at registration and update. */
export function checkWorkerSpec(p: Pick<Infer<typeof WorkerSchema>, 'cpuMillis' | 'memoryMiB' | 'runtimes' | 'gpus' | 'endpoint'>): void {
  if (p.cpuMillis === 0 || p.memoryMiB === 0) fail('INVALID_ARGUMENT', 'a worker offers at least some cpu and memory');
  if (p.runtimes.length === 0) fail('INVALID_ARGUMENT', `a worker offers at least one runtime (${RUNTIMES.join(', ')})`);
  for (const r of p.runtimes)
    if (!(RUNTIMES as readonly string[]).includes(r)) fail('INVALID_ARGUMENT', `unknown runtime "${r}" (known: ${RUNTIMES.join(', ')})`);
  for (const g of p.gpus) if (g.model === '' || g.count === 0) fail('INVALID_ARGUMENT', 'each GPU entry names a model and a count of at least 1');
  if (p.endpoint === '') fail('INVALID_ARGUMENT', 'a worker registers the endpoint where its node can reach it');
}

/** Moves `amount` of a worker's stake into its bond. */
export function takeFromStake(ctx: ExecContext, addrHex: string, amount: bigint): void {
  const s = stores.stakes.get(ctx.state, addrHex) ?? { staked: 0n, unbonding: 0n };
  if (s.staked < amount) fail('INSUFFICIENT_STAKE', `the bond comes from stake: ${s.staked} base units staked, ${amount} needed; stake ZNC first`);
  stores.stakes.set(ctx.state, addrHex, { ...s, staked: s.staked - amount });
}

/** The sender as a registered worker that is not leaving (a private copy). */
export function activeWorker(ctx: ExecContext, tx: Tx): Worker {
  const w = stores.workers.get(ctx.state, tx.fromHex);
  if (!w || w.bond === 0n) fail('NOT_A_WORKER', `${encodeAddress(tx.from)} is not a registered worker`);
  if (w.leavingAt !== 0n) fail('WORKER_LEAVING', `this worker is leaving; its bond returns at height ${w.leavingAt}`);
  return { ...w };
}

/**
 * An active worker whose bond fell below the minimum is not leased (canBeLeased): refused with a
 * code of its own and what to add, so its operator can tell it from a task it does not fit.
 */
export function requireBondedEnough(ctx: ExecContext, w: Worker, who: string): void {
  const short = bondShortfall(w, ctx.params.market);
  if (!isActive(w) || short === 0n) return;
  fail(
    'BOND_BELOW_MINIMUM',
    `${who} cannot be leased: its bond of ${w.bond} base units is below the minimum of ${ctx.params.market.minWorkerBond}; add at least ${short} (UpdateWorker with addBond, \`zeus worker update --add-bond\`)`,
  );
}

/** Tells main how a lease ended for its worker: record, rating, bond. */
export function recordOutcome(ctx: ExecContext, worker: Uint8Array, outcome: WorkerOutcome, slashBp = 0, beneficiary: Uint8Array = new Uint8Array()): void {
  const data = encode(WorkerOutcomeSchema, { outcome, slashBp, beneficiary, app: [] });
  const r: Omit<Receipt, 'source'> = { kind: ReceiptKind.WorkerRecord, address: worker, token: ZNC, amount: 0n, data };
  if (ctx.chain === MAIN_CHAIN) applyWorkerRecord(ctx, { ...r, source: MAIN_CHAIN });
  else ctx.emit(r);
}

function payFromSystem(ctx: ExecContext, name: string, to: Uint8Array, amount: bigint): void {
  const hex = toHex(systemAddress(name));
  const acc = readAccount(ctx.state, hex);
  const have = acc.balances[ZNC] ?? 0n;
  const pay = have < amount ? have : amount;
  if (pay === 0n) return;
  acc.balances[ZNC] = have - pay;
  writeAccount(ctx.state, hex, acc);
  credit(ctx, to, ZNC, pay);
}

/** Main chain: a lease outcome reaches the worker's record; slashes come out of its bond. */
export function applyWorkerRecord(ctx: ExecContext, r: Receipt): void {
  const hex = toHex(r.address);
  const found = stores.workers.get(ctx.state, hex);
  if (!found) return;
  const w = { ...found };
  const o = decode(WorkerOutcomeSchema, r.data);
  switch (o.outcome) {
    case WorkerOutcome.Completed:
      w.completed++;
      break;
    case WorkerOutcome.Failed:
      w.failed++;
      break;
    case WorkerOutcome.Abandoned:
      w.abandoned++;
      break;
    case WorkerOutcome.AppFailed:
    case WorkerOutcome.Released:
      return applyFairnessRecord(ctx, hex, w, o.outcome, o.app[0]);
    default:
      w.disputesLost++;
  }
  w.rating = ratingOf(w);
  const slash = (w.bond * BigInt(o.slashBp)) / 10_000n;
  w.bond -= slash;
  w.slashedTotal += slash;
  stores.workers.set(ctx.state, hex, w);
  if (slash > 0n) credit(ctx, o.beneficiary.length > 0 ? o.beneficiary : systemAddress(REWARDS_POOL_NAME), ZNC, slash);
  if (o.outcome === WorkerOutcome.Completed) payFromSystem(ctx, WORKER_DIVIDEND, r.address, ctx.params.market.dividendPerLease);
}

/** `name@version` of a task's app, as the fairness records on main name it (none for a raw image). */
const appRef = (t: Task): string[] => (t.app === '' ? [] : [`${t.app}@${t.version}`]);

export function recordFairness(ctx: ExecContext, worker: Uint8Array, outcome: typeof WorkerOutcome.AppFailed | typeof WorkerOutcome.Released, t: Task): void {
  const data = encode(WorkerOutcomeSchema, { outcome, slashBp: 0, beneficiary: new Uint8Array(), app: appRef(t) });
  const r: Omit<Receipt, 'source'> = { kind: ReceiptKind.WorkerRecord, address: worker, token: ZNC, amount: 0n, data };
  if (ctx.chain === MAIN_CHAIN) applyWorkerRecord(ctx, { ...r, source: MAIN_CHAIN });
  else ctx.emit(r);
}

/** Main chain: an accepted app outcome or a release counts on the worker's record and the app version's, never on its rating or bond. */
function applyFairnessRecord(ctx: ExecContext, hex: string, w: Worker, outcome: WorkerOutcome, app: string | undefined): void {
  if (outcome === WorkerOutcome.AppFailed) w.appFailures++;
  else w.released++;
  stores.workers.set(ctx.state, hex, w);
  if (app === undefined) return;
  const at = app.lastIndexOf('@');
  const [name, version] = [app.slice(0, at), app.slice(at + 1)];
  const found = stores.apps.get(ctx.state, name, version);
  if (!found) return;
  stores.apps.set(
    ctx.state,
    name,
    version,
    outcome === WorkerOutcome.AppFailed ? { ...found, failures: found.failures + 1n } : { ...found, releases: found.releases + 1n },
  );
}
