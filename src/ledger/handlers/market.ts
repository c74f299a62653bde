import { decode, encode } from '../../codec/index.ts';
import { bytesEqual, encodeAddress, fromHex, isAddress, sha256, systemAddress, toHex, utf8 } from '../../crypto/portable.ts';
import { askPrice, bondShortfall, canBeLeased, drawSeed, drawVerifiers, isActive, misfitCounts, misfits, rankBids, ratingOf, resultTooLarge, RUNTIMES, verifierWeight, type BondRule, type DrawCandidate, type TaskNeeds, type WorkerOffer } from '../../market/index.ts';
import { credit, debit, readAccount, requireRecipient, requireToken, writeAccount, type ExecContext } from '../context.ts';
import { Keys, type Stake } from '../entries.ts';
import { fail } from '../errors.ts';
import {
  DueKind,
  LeaseState,
  MarketKeys,
  TaskKind,
  TaskState,
  LEASE_STATE_NAMES,
  TASK_STATE_NAMES,
  VERIFY_SLOT,
  type App,
  type AppName,
  type Bid,
  type BidRef,
  type Counter,
  type DisputeState,
  type Due,
  type Lease,
  type License,
  type Released,
  type Task,
  type Worker,
  type WorkerIndex,
} from '../marketEntries.ts';
import { MAIN_CHAIN, MAX_U64, ZNC, ZNC_UNIT } from '../params.ts';
import { appOutcomeDigest, appOutcomeProblem, describeAppOutcome, type AppOutcome } from '../appOutcome.ts';
import { resultCommitment } from '../resultCommit.ts';
import { ReceiptKind, WorkerOutcome, WorkerOutcomeSchema, type Receipt } from '../receipts.ts';
import type { Tx } from '../tx.ts';
import type { Payload, TxKind } from '../ops/index.ts';
import { REWARDS_POOL_NAME, WORKER_DIVIDEND } from '../systemAccounts.ts';

// The compute market as ledger logic. Workers, apps and licenses are registered on main; a task
// lives on its poster's home chain with its escrow, bids and leases, so posting, bidding, matching,
// metering and paying are single-chain transitions. What crosses chains goes by receipt: pay to a
// worker or developer homed elsewhere (Credit), and a lease's outcome to the worker's record and
// bond on main (WorkerRecord). Deadlines are heights; each chain looks at what is due at a
// height when the height begins.

const HOUR_MS = 3_600_000n;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const APP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const APP_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$/;
const MAX_SLOTS = 512;

/** Pay for `ms` of block time at `perHour`, rounded down. */
export function payFor(perHour: bigint, ms: bigint): bigint {
  return (perHour * ms) / HOUR_MS;
}

/** The id of the task a `PostTask` transaction creates on `chain`. */
export function taskIdFor(txHash: Uint8Array, chain: number): Uint8Array {
  const id = sha256(utf8('ZEUSNET/task/v1\0'), txHash);
  id[0] = chain;
  return id;
}

// ---------------------------------------------------------------------------------- helpers

function schedule(ctx: ExecContext, height: bigint, kind: DueKind, id: Uint8Array, lease = 0): void {
  const countKey = MarketKeys.dueCount(height);
  const n = ctx.state.get<Counter>(countKey)?.n ?? 0n;
  ctx.state.set(MarketKeys.due(height, n), { kind, id, lease } satisfies Due);
  ctx.state.set(countKey, { n: n + 1n } satisfies Counter);
}

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

function readTask(ctx: ExecContext, id: Uint8Array): [string, Task] {
  const idHex = toHex(id);
  const t = ctx.state.get<Task>(MarketKeys.task(idHex));
  if (!t) fail('TASK_NOT_FOUND', `no task ${idHex}`);
  return [idHex, { ...t, openSlots: [...t.openSlots] }];
}

function writeTask(ctx: ExecContext, idHex: string, t: Task): void {
  ctx.state.set(MarketKeys.task(idHex), t);
}

function readLease(ctx: ExecContext, idHex: string, index: number): Lease {
  const l = ctx.state.get<Lease>(MarketKeys.lease(idHex, index));
  if (!l) fail('LEASE_NOT_FOUND', `task ${idHex} has no lease ${index}`);
  return { ...l };
}

function writeLease(ctx: ExecContext, idHex: string, index: number, l: Lease): void {
  ctx.state.set(MarketKeys.lease(idHex, index), l);
}

const leaseStateName = (s: number): string => LEASE_STATE_NAMES[s] ?? String(s);
const isTerminalTask = (t: Task): boolean => t.state === TaskState.Done || t.state === TaskState.Cancelled || t.state === TaskState.Expired;
const isActiveLease = (l: Lease): boolean =>
  l.state === LeaseState.Matched || l.state === LeaseState.Started || l.state === LeaseState.Running || l.state === LeaseState.Completed || l.state === LeaseState.Disputed;

function requireOwner(t: Task, tx: Tx): void {
  if (!bytesEqual(t.owner, tx.from)) fail('NOT_AUTHORIZED', `only the task's poster ${encodeAddress(t.owner)} may do this`);
}

function requireLessee(l: Lease, tx: Tx, index: number): void {
  if (!bytesEqual(l.worker, tx.from)) fail('NOT_LESSEE', `lease ${index} belongs to worker ${encodeAddress(l.worker)}`);
}

function mulChecked(...xs: bigint[]): bigint {
  const v = xs.reduce((a, b) => a * b, 1n);
  if (v > MAX_U64) fail('INVALID_AMOUNT', 'the task\'s worst-case cost does not fit in 64 bits');
  return v;
}

/** ZNC of the escrow not held for anyone. */
const freeEscrow = (t: Task): bigint => t.escrow - t.held;
const freeFeeEscrow = (t: Task): bigint => (t.feeToken === ZNC ? 0n : t.feeEscrow - t.feeHeld);

/** Tells main how a lease ended for its worker: record, rating, bond. */
function recordOutcome(ctx: ExecContext, worker: Uint8Array, outcome: WorkerOutcome, slashBp = 0, beneficiary: Uint8Array = new Uint8Array()): void {
  const data = encode(WorkerOutcomeSchema, { outcome, slashBp, beneficiary, app: [] });
  const r: Omit<Receipt, 'source'> = { kind: ReceiptKind.WorkerRecord, address: worker, token: ZNC, amount: 0n, data };
  if (ctx.chain === MAIN_CHAIN) applyWorkerRecord(ctx, { ...r, source: MAIN_CHAIN });
  else ctx.emit(r);
}

// ----------------------------------------------------------------------------- workers (main)

function checkWorkerSpec(p: Payload<typeof TxKind.RegisterWorker> | Payload<typeof TxKind.UpdateWorker>): void {
  if (p.cpuMillis === 0 || p.memoryMiB === 0) fail('INVALID_ARGUMENT', 'a worker offers at least some cpu and memory');
  if (p.runtimes.length === 0) fail('INVALID_ARGUMENT', `a worker offers at least one runtime (${RUNTIMES.join(', ')})`);
  for (const r of p.runtimes) if (!(RUNTIMES as readonly string[]).includes(r)) fail('INVALID_ARGUMENT', `unknown runtime "${r}" (known: ${RUNTIMES.join(', ')})`);
  for (const g of p.gpus) if (g.model === '' || g.count === 0) fail('INVALID_ARGUMENT', 'each GPU entry names a model and a count of at least 1');
  if (p.endpoint === '') fail('INVALID_ARGUMENT', 'a worker registers the endpoint where its node can reach it');
}

function takeFromStake(ctx: ExecContext, addrHex: string, amount: bigint): void {
  const s = ctx.state.get<Stake>(Keys.stake(addrHex)) ?? { staked: 0n, unbonding: 0n };
  if (s.staked < amount) fail('INSUFFICIENT_STAKE', `the bond comes from stake: ${s.staked} base units staked, ${amount} needed; stake ZNC first`);
  ctx.state.set(Keys.stake(addrHex), { ...s, staked: s.staked - amount });
}

export function registerWorker(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.RegisterWorker>): void {
  checkWorkerSpec(p);
  if (p.benchmark > 1000) fail('INVALID_ARGUMENT', 'benchmark score is 0..1000');
  const key = MarketKeys.worker(tx.fromHex);
  const existing = ctx.state.get<Worker>(key);
  if (existing && existing.bond > 0n) fail('ALREADY_REGISTERED', 'this worker is registered (or its bond has not returned yet)');
  const min = ctx.params.market.minWorkerBond;
  if (p.bond < min) fail('BOND_TOO_SMALL', `a worker bonds at least ${min} base units; ${p.bond} offered`);
  takeFromStake(ctx, tx.fromHex, p.bond);
  const { bond, benchmark, ...spec } = p;
  const record = existing ?? { completed: 0n, failed: 0n, abandoned: 0n, disputesLost: 0n, slashedTotal: 0n };
  const w: Worker = {
    ...spec,
    bond,
    benchmark,
    completed: record.completed,
    failed: record.failed,
    abandoned: record.abandoned,
    disputesLost: record.disputesLost,
    slashedTotal: record.slashedTotal,
    appFailures: existing?.appFailures ?? 0n,
    released: existing?.released ?? 0n,
    rating: 0,
    leavingAt: 0n,
    registeredAt: BigInt(ctx.height),
  };
  w.rating = ratingOf(w);
  ctx.state.set(key, w);
  if (!existing) {
    const n = ctx.state.get<Counter>(MarketKeys.workerCount)?.n ?? 0n;
    ctx.state.set(MarketKeys.workerAt(n), { worker: tx.from } satisfies WorkerIndex);
    ctx.state.set(MarketKeys.workerCount, { n: n + 1n } satisfies Counter);
  }
}

function activeWorker(ctx: ExecContext, tx: Tx): Worker {
  const w = ctx.state.get<Worker>(MarketKeys.worker(tx.fromHex));
  if (!w || w.bond === 0n) fail('NOT_A_WORKER', `${encodeAddress(tx.from)} is not a registered worker`);
  if (w.leavingAt !== 0n) fail('WORKER_LEAVING', `this worker is leaving; its bond returns at height ${w.leavingAt}`);
  return { ...w };
}

export function updateWorker(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.UpdateWorker>): void {
  checkWorkerSpec(p);
  const w = activeWorker(ctx, tx);
  if (p.addBond > 0n) takeFromStake(ctx, tx.fromHex, p.addBond);
  const { addBond, ...spec } = p;
  ctx.state.set(MarketKeys.worker(tx.fromHex), { ...w, ...spec, bond: w.bond + addBond });
}

export function leaveWorker(ctx: ExecContext, tx: Tx): void {
  const w = activeWorker(ctx, tx);
  // The bond stays slashable for leases still ending on the inner chains.
  w.leavingAt = BigInt(ctx.height + ctx.params.market.workerUnbondingBlocks);
  ctx.state.set(MarketKeys.worker(tx.fromHex), w);
  schedule(ctx, w.leavingAt, DueKind.WorkerRelease, tx.from);
}

function releaseWorkerBond(ctx: ExecContext, worker: Uint8Array): void {
  const hex = toHex(worker);
  const w = ctx.state.get<Worker>(MarketKeys.worker(hex));
  if (!w || w.leavingAt !== BigInt(ctx.height) || w.bond === 0n) return;
  ctx.state.set(MarketKeys.worker(hex), { ...w, bond: 0n });
  credit(ctx, worker, ZNC, w.bond);
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
  const found = ctx.state.get<Worker>(MarketKeys.worker(hex));
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
  ctx.state.set(MarketKeys.worker(hex), w);
  if (slash > 0n) credit(ctx, o.beneficiary.length > 0 ? o.beneficiary : systemAddress(REWARDS_POOL_NAME), ZNC, slash);
  if (o.outcome === WorkerOutcome.Completed) payFromSystem(ctx, WORKER_DIVIDEND, r.address, ctx.params.market.dividendPerLease);
}

// -------------------------------------------------------------------------------- apps (main)

export function publishApp(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.PublishApp>): void {
  if (!APP_NAME.test(p.name)) fail('INVALID_ARGUMENT', 'app name: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');
  // The registry gives a namespace that is an address to that address (docs/DDN.md): an app named
  // like someone's address would put a name on the chain whose images only that someone can push.
  if (isAddress(p.name)) fail('INVALID_ARGUMENT', 'app name: an address is not an app name (it names that account\'s own registry namespace)');
  if (!APP_VERSION.test(p.version)) fail('INVALID_ARGUMENT', 'app version: letters, digits, ".", "+", "_" or "-"');
  if (!DIGEST.test(p.digest)) fail('BAD_DIGEST', `image digest must be sha256: and 64 lowercase hex digits, got "${p.digest}"`);
  // The license fees go to the developer: an address nobody can spend from would swallow them.
  if (p.developer.length !== 0) requireRecipient(ctx, p.developer, 'developer');
  requireToken(ctx, p.feeToken);
  const nameKey = MarketKeys.appName(p.name);
  const owner = ctx.state.get<AppName>(nameKey);
  if (owner && !bytesEqual(owner.owner, tx.from)) fail('NOT_AUTHORIZED', `app "${p.name}" belongs to ${encodeAddress(owner.owner)}`);
  const key = MarketKeys.app(p.name, p.version);
  if (ctx.state.get<App>(key)) fail('APP_EXISTS', `${p.name}@${p.version} is already published; publish a new version`);
  ctx.state.set(nameKey, { owner: tx.from, versions: (owner?.versions ?? 0) + 1 } satisfies AppName);
  ctx.state.set(key, {
    name: p.name,
    version: p.version,
    digest: p.digest,
    developer: p.developer.length !== 0 ? p.developer : tx.from,
    feeToken: p.feeToken,
    licenseFeePerHour: p.licenseFeePerHour,
    requiresLicense: p.requiresLicense,
    deprecated: false,
    publishedAt: BigInt(ctx.height),
    failures: 0n,
    releases: 0n,
  } satisfies App);
}

export function deprecateApp(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.DeprecateApp>): void {
  const key = MarketKeys.app(p.name, p.version);
  const app = ctx.state.get<App>(key);
  if (!app) fail('UNKNOWN_APP', `no app ${p.name}@${p.version}`);
  const owner = ctx.state.get<AppName>(MarketKeys.appName(p.name))!;
  if (!bytesEqual(owner.owner, tx.from)) fail('NOT_AUTHORIZED', `app "${p.name}" belongs to ${encodeAddress(owner.owner)}`);
  if (app.deprecated) fail('ALREADY_DEPRECATED', `${p.name}@${p.version} is already deprecated`);
  ctx.state.set(key, { ...app, deprecated: true });
}

export function acquireLicense(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.AcquireLicense>): void {
  if (!ctx.state.get<AppName>(MarketKeys.appName(p.name))) fail('UNKNOWN_APP', `no app "${p.name}"`);
  const key = MarketKeys.license(p.name, tx.fromHex);
  if (ctx.state.get<License>(key)) fail('ALREADY_LICENSED', `${encodeAddress(tx.from)} already holds a license for "${p.name}"`);
  ctx.state.set(key, { acquiredAt: BigInt(ctx.height) } satisfies License);
}

// ------------------------------------------------------------------------ tasks (inner chain)

function checkTaskOrder(ctx: ExecContext, p: Payload<typeof TxKind.PostTask>): void {
  const bad = (m: string): never => fail('IMPOSSIBLE_TASK', m);
  if (p.cpuMillis === 0 || p.cpuMillis > 1_024_000) bad('cpu must be 1..1,024,000 millicores');
  if (p.memoryMiB === 0 || p.memoryMiB > 16 * 1024 * 1024) bad('memory must be 1 MiB..16 TiB');
  if (p.gpuCount > 64) bad('at most 64 GPUs per replica');
  if (p.gpuCount === 0 && (p.gpuModel !== '' || p.gpuMemoryMiB !== 0)) bad('a GPU model or GPU memory is named but no GPU is asked for');
  if (!(RUNTIMES as readonly string[]).includes(p.runtime)) bad(`unknown runtime "${p.runtime}" (known: ${RUNTIMES.join(', ')})`);
  if (p.minRating > 1000) bad('ratings are 0..1000');
  if (p.replicas === 0 || p.replicas > 64) bad('replicas must be 1..64');
  if (p.kind !== TaskKind.Batch && p.kind !== TaskKind.Service) bad('kind is 1 (batch) or 2 (service)');
  if (p.redundancy === 0 || p.redundancy > 7) bad('redundancy must be 1..7');
  if (p.kind === TaskKind.Service && p.redundancy !== 1) bad('a service runs each replica once (redundancy 1); redundancy compares batch results');
  if (p.replicas * p.redundancy > MAX_SLOTS) bad(`replicas × redundancy must be at most ${MAX_SLOTS}`);
  const tooLarge = p.kind === TaskKind.Batch ? resultTooLarge(p.diskMiB) : undefined;
  if (tooLarge) bad(`${tooLarge}; split the work into tasks whose results fit`);
  if (p.maxPricePerHour === 0n) fail('INVALID_AMOUNT', 'max price per hour must be greater than zero');
  if (p.maxHours === 0 || p.maxHours > 8760) bad('max hours must be 1..8760');
  if (new Set(p.ports).size !== p.ports.length || p.ports.some((x) => x === 0 || x > 65535)) bad('ports must be distinct, 1..65535');
  if (p.bidWindowBlocks === 0 || p.bidWindowBlocks > ctx.params.market.maxBidWindowBlocks) {
    bad(`bid window must be 1..${ctx.params.market.maxBidWindowBlocks} blocks`);
  }
  if (p.retries > 10) bad('at most 10 retries');
  if ((p.app === '') === (p.image === '')) fail('INVALID_ARGUMENT', 'name either an app (and version) or a raw image digest');
}

export function postTask(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.PostTask>): void {
  checkTaskOrder(ctx, p);
  let digest = p.image;
  let developer: Uint8Array = new Uint8Array();
  let feeToken = ZNC;
  let licenseFeePerHour = 0n;
  if (p.app !== '') {
    const app = ctx.main.get<App>(MarketKeys.app(p.app, p.version));
    if (!app) fail('UNKNOWN_APP', `no app ${p.app}@${p.version}`);
    if (app.deprecated) fail('APP_DEPRECATED', `${p.app}@${p.version} is deprecated; use a newer version`);
    if (app.requiresLicense && !ctx.main.get<License>(MarketKeys.license(p.app, tx.fromHex))) {
      fail('LICENSE_REQUIRED', `${p.app} requires a license: acquire it first`);
    }
    ({ digest, developer, feeToken, licenseFeePerHour } = app);
  } else if (!DIGEST.test(p.image)) fail('BAD_DIGEST', `image digest must be sha256: and 64 lowercase hex digits, got "${p.image}"`);
  const slots = BigInt(p.replicas * p.redundancy);
  const workerCost = mulChecked(p.maxPricePerHour, BigInt(p.maxHours), slots);
  const feeCost = mulChecked(licenseFeePerHour, BigInt(p.maxHours), slots);
  const escrow = feeToken === ZNC ? workerCost + feeCost : workerCost;
  const feeEscrow = feeToken === ZNC ? 0n : feeCost;
  if (escrow > MAX_U64) fail('INVALID_AMOUNT', 'the task\'s worst-case cost does not fit in 64 bits');
  const acc = readAccount(ctx.state, tx.fromHex);
  debit(ctx, acc, ZNC, escrow, tx.from);
  if (feeEscrow > 0n) debit(ctx, acc, feeToken, feeEscrow, tx.from);
  writeAccount(ctx.state, tx.fromHex, acc);
  const id = taskIdFor(tx.hash, ctx.chain);
  const closeHeight = BigInt(ctx.height + p.bidWindowBlocks);
  const t: Task = {
    ...p,
    owner: tx.from,
    digest,
    developer,
    feeToken,
    licenseFeePerHour,
    state: TaskState.Open,
    postedAt: BigInt(ctx.height),
    closeHeight,
    escrow,
    feeEscrow,
    held: 0n,
    feeHeld: 0n,
    bidCount: 0,
    leaseCount: 0,
    activeLeases: 0,
    openSlots: Array.from({ length: Number(slots) }, (_, i) => i),
    retriesLeft: p.retries,
    graceUntil: 0n,
    noBidReasons: '',
    endedAt: 0n,
  };
  writeTask(ctx, toHex(id), t);
  schedule(ctx, closeHeight + 1n, DueKind.CloseBids, id);
  ctx.announce({ kind: 'task-posted', task: toHex(id), detail: `bids until height ${closeHeight}` });
}

export function cancelTask(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.CancelTask>): void {
  const [idHex, t] = readTask(ctx, p.task);
  requireOwner(t, tx);
  if (isTerminalTask(t)) fail('TASK_ENDED', `task ${idHex} has already ended`);
  const leases = Array.from({ length: t.leaseCount }, (_, i) => readLease(ctx, idHex, i));
  if (leases.some((l) => l.state === LeaseState.Disputed)) fail('DISPUTE_PENDING', 'a dispute on this task is being verified; cancel after it is decided');
  leases.forEach((l, i) => {
    if (!isActiveLease(l)) return;
    if (l.state === LeaseState.Started || l.state === LeaseState.Running) settlePeriod(ctx, t, l, MAX_U64);
    // The user cancels: what a batch worker earned so far is owed, review or not.
    releaseHeld(ctx, t, l);
    endLease(t, l, ctx, LeaseState.Cancelled, 'cancelled by the task\'s poster', idHex, i);
    writeLease(ctx, idHex, i, l);
  });
  t.openSlots = [];
  t.state = TaskState.Cancelled;
  refundTask(ctx, t, idHex);
  writeTask(ctx, idHex, t);
}

export function topUpTask(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.TopUpTask>): void {
  const [idHex, t] = readTask(ctx, p.task);
  requireOwner(t, tx);
  if (isTerminalTask(t)) fail('TASK_ENDED', `task ${idHex} has already ended`);
  if (p.amount === 0n && p.feeAmount === 0n) fail('INVALID_AMOUNT', 'top up by a positive amount');
  if (p.feeAmount > 0n && t.feeToken === ZNC) fail('INVALID_AMOUNT', 'this task\'s license fee is paid in ZNC: top up `amount` only');
  const acc = readAccount(ctx.state, tx.fromHex);
  debit(ctx, acc, ZNC, p.amount, tx.from);
  if (p.feeAmount > 0n) debit(ctx, acc, t.feeToken, p.feeAmount, tx.from);
  writeAccount(ctx.state, tx.fromHex, acc);
  t.escrow += p.amount;
  t.feeEscrow += p.feeAmount;
  if (t.escrow > MAX_U64 || t.feeEscrow > MAX_U64) fail('INVALID_AMOUNT', 'escrow would not fit in 64 bits');
  if (t.graceUntil !== 0n && !escrowLow(ctx, idHex, t)) t.graceUntil = 0n;
  writeTask(ctx, idHex, t);
}

export function bid(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.Bid>): void {
  const [idHex, t] = readTask(ctx, p.task);
  if (t.state !== TaskState.Open || t.openSlots.length === 0) fail('BIDDING_CLOSED', `task ${idHex} takes no bids now`);
  if (BigInt(ctx.height) > t.closeHeight) fail('BIDDING_CLOSED', `the bid window closed at height ${t.closeHeight}`);
  const w = ctx.main.get<Worker>(MarketKeys.worker(tx.fromHex));
  if (!w || w.bond === 0n) fail('NOT_A_WORKER', `${encodeAddress(tx.from)} is not a registered worker`);
  refuseReleased(ctx, idHex, tx);
  requireBondedEnough(ctx, w, 'this worker');
  const why = misfits(workerOffer(tx.fromHex, w, ctx.params.market), taskNeeds(t), p.price);
  if (why.length > 0) fail('WORKER_UNFIT', `this worker cannot serve task ${idHex}: ${why.map((m) => m.message).join('; ')}`);
  const refKey = MarketKeys.bidBy(idHex, tx.fromHex);
  const ref = ctx.state.get<BidRef>(refKey);
  if (ref && ref.window === t.closeHeight) fail('DUPLICATE_BID', 'this worker already bid in this window');
  if (t.bidCount >= ctx.params.market.maxBidsPerTask) fail('TOO_MANY_BIDS', `task ${idHex} holds its limit of ${ctx.params.market.maxBidsPerTask} bids`);
  ctx.state.set(MarketKeys.bid(idHex, t.bidCount), { worker: tx.from, price: p.price, rating: w.rating, height: BigInt(ctx.height), used: false, withdrawn: false } satisfies Bid);
  ctx.state.set(refKey, { index: t.bidCount, window: t.closeHeight } satisfies BidRef);
  t.bidCount++;
  writeTask(ctx, idHex, t);
}

/**
 * An active worker whose bond fell below the minimum is not leased (canBeLeased): refused with a
 * code of its own and what to add, so its operator can tell it from a task it does not fit.
 */
function requireBondedEnough(ctx: ExecContext, w: Worker, who: string): void {
  const short = bondShortfall(w, ctx.params.market);
  if (!isActive(w) || short === 0n) return;
  fail('BOND_BELOW_MINIMUM', `${who} cannot be leased: its bond of ${w.bond} base units is below the minimum of ${ctx.params.market.minWorkerBond}; add at least ${short} (UpdateWorker with addBond, \`zeus worker update --add-bond\`)`);
}

export function acceptBid(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.AcceptBid>): void {
  const [idHex, t] = readTask(ctx, p.task);
  requireOwner(t, tx);
  if (t.state !== TaskState.Open || t.openSlots.length === 0) fail('BIDDING_CLOSED', `task ${idHex} has no open slot`);
  const workerHex = toHex(p.worker);
  const ref = ctx.state.get<BidRef>(MarketKeys.bidBy(idHex, workerHex));
  if (!ref || ref.window !== t.closeHeight) fail('BID_NOT_FOUND', `${encodeAddress(p.worker)} has no bid in this window`);
  const b = ctx.state.get<Bid>(MarketKeys.bid(idHex, ref.index))!;
  if (b.used) fail('BID_NOT_FOUND', 'that bid already won a lease');
  if (b.withdrawn) fail('BID_NOT_FOUND', `${encodeAddress(p.worker)} withdrew its bid`);
  const w = ctx.main.get<Worker>(MarketKeys.worker(workerHex));
  if (w) requireBondedEnough(ctx, w, 'the bidder');
  if (!w || misfits(workerOffer(workerHex, w, ctx.params.market), taskNeeds(t), b.price).length > 0) fail('WORKER_UNFIT', 'the bidder no longer fits the task');
  const slot = pickSlot(ctx, idHex, t, p.worker);
  if (slot === undefined) fail('WORKER_UNFIT', 'this worker already holds a lease of this task (or is the one being verified)');
  createLease(ctx, idHex, t, slot, ref.index, b);
  if (t.openSlots.length === 0) t.state = TaskState.Running;
  writeTask(ctx, idHex, t);
}

/**
 * A worker takes back its bid in the task's open window: it wins nothing there (neither at the close
 * nor by AcceptBid), and the worker may offer elsewhere the capacity the bid held. Once per window,
 * like the bid itself: it cannot bid again in this window (a loop of withdraw and bid would fill
 * the task's bid limit). Moves no money; a bid that won, lost or whose task ended has nothing to take back.
 */
export function withdrawBid(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.WithdrawBid>): void {
  const [idHex, t] = readTask(ctx, p.task);
  const ref = ctx.state.get<BidRef>(MarketKeys.bidBy(idHex, tx.fromHex));
  if (t.state !== TaskState.Open || !ref || ref.window !== t.closeHeight) {
    fail('BID_NOT_FOUND', `${encodeAddress(tx.from)} has no bid in an open window of task ${idHex} (it won, lost, or the task ended)`);
  }
  const b = ctx.state.get<Bid>(MarketKeys.bid(idHex, ref.index))!;
  if (b.used) fail('BID_NOT_FOUND', 'that bid already won a lease');
  if (b.withdrawn) fail('BID_NOT_FOUND', 'that bid is already withdrawn');
  ctx.state.set(MarketKeys.bid(idHex, ref.index), { ...b, withdrawn: true } satisfies Bid);
}

/**
 * The first open slot this worker may take: never two leases of one task. Open slots are replica
 * slots only: a dispute's verifier seats are drawn by the chain (`drawDue`), never offered to bids.
 */
function pickSlot(ctx: ExecContext, idHex: string, t: Task, worker: Uint8Array): number | undefined {
  for (let i = 0; i < t.leaseCount; i++) {
    const l = ctx.state.get<Lease>(MarketKeys.lease(idHex, i))!;
    if (isActiveLease(l) && bytesEqual(l.worker, worker)) return undefined;
  }
  return t.openSlots[0];
}

/** A matched lease of `slot` for `worker` at `price` (a bid won or a verifier seat drawn), due to start within `startDeadlineBlocks`. */
function newLease(ctx: ExecContext, idHex: string, t: Task, worker: Uint8Array, slot: number, price: bigint, verifies: number): [index: number, startBy: bigint] {
  const index = t.leaseCount++;
  t.activeLeases++;
  const startBy = BigInt(ctx.height + ctx.params.market.startDeadlineBlocks);
  writeLease(ctx, idHex, index, {
    worker,
    slot,
    price,
    state: LeaseState.Matched,
    matchedAt: BigInt(ctx.height),
    startBy,
    reportBy: 0n,
    endpoint: '',
    startedAt: 0n,
    paidUntil: 0n,
    reports: 0,
    workerPaid: 0n,
    feePaid: 0n,
    held: 0n,
    feeHeld: 0n,
    resultDigest: '',
    cpuSeconds: 0n,
    memoryGiBSeconds: 0n,
    gpuSeconds: 0n,
    networkBytes: 0n,
    wallMs: 0n,
    reviewEnd: 0n,
    verifies,
    disputeDeposit: 0n,
    endedAt: 0n,
    outcome: '',
    commitment: new Uint8Array(),
    revealBy: 0n,
  });
  schedule(ctx, startBy + 1n, DueKind.StartDeadline, fromHex(idHex), index);
  return [index, startBy];
}

function createLease(ctx: ExecContext, idHex: string, t: Task, slot: number, bidIndex: number, b: Bid): void {
  ctx.state.set(MarketKeys.bid(idHex, bidIndex), { ...b, used: true });
  t.openSlots.splice(t.openSlots.indexOf(slot), 1);
  const [index, startBy] = newLease(ctx, idHex, t, b.worker, slot, b.price, 0);
  ctx.announce({ kind: 'lease-matched', task: idHex, lease: index, worker: toHex(b.worker), detail: `start by height ${startBy}` });
}

/** A bid window closes: every node ranks the same bids the same way and leases the winners. */
function closeBids(ctx: ExecContext, id: Uint8Array): void {
  const idHex = toHex(id);
  const found = ctx.state.get<Task>(MarketKeys.task(idHex));
  if (!found || found.state !== TaskState.Open || found.closeHeight + 1n !== BigInt(ctx.height)) return;
  const t: Task = { ...found, openSlots: [...found.openSlots] };
  const needs = taskNeeds(t);
  const live: { bid: Bid; index: number; worker: string; price: bigint; rating: number }[] = [];
  for (let i = 0; i < t.bidCount; i++) {
    const b = ctx.state.get<Bid>(MarketKeys.bid(idHex, i))!;
    if (b.used || b.withdrawn) continue;
    const workerHex = toHex(b.worker);
    // Only this window's bids: a worker's latest bid is the one its reference points at.
    const ref = ctx.state.get<BidRef>(MarketKeys.bidBy(idHex, workerHex))!;
    if (ref.index !== i || ref.window !== t.closeHeight) continue;
    const w = ctx.main.get<Worker>(MarketKeys.worker(workerHex));
    // A worker that left, changed, or was slashed below the minimum bond since it bid no longer wins.
    if (!w || misfits(workerOffer(workerHex, w, ctx.params.market), needs, b.price).length > 0) continue;
    live.push({ bid: b, index: i, worker: workerHex, price: b.price, rating: b.rating });
  }
  let leased = 0;
  for (const b of rankBids(idHex, live)) {
    if (t.openSlots.length === 0) break;
    const slot = pickSlot(ctx, idHex, t, b.bid.worker);
    if (slot === undefined) continue;
    createLease(ctx, idHex, t, slot, b.index, b.bid);
    leased++;
  }
  ctx.announce({ kind: 'window-closed', task: idHex, detail: `${leased} lease(s) matched, ${t.openSlots.length} slot(s) still open` });
  if (t.openSlots.length === 0) t.state = TaskState.Running;
  else if (leased === 0 && t.leaseCount === 0) {
    t.noBidReasons = noBidReasons(ctx, needs);
    t.openSlots = [];
    t.state = TaskState.Expired;
    refundTask(ctx, t, idHex);
  } else {
    reopenOrDrop(ctx, idHex, t);
  }
  writeTask(ctx, idHex, t);
}

/** Why no registered worker bid: misfit counts over the registry (bounded), as JSON. */
function noBidReasons(ctx: ExecContext, needs: TaskNeeds): string {
  const n = ctx.main.get<Counter>(MarketKeys.workerCount)?.n ?? 0n;
  const limit = BigInt(ctx.params.market.reasonScanLimit);
  const refused: { worker: string; ask: bigint; reasons: ReturnType<typeof misfits> }[] = [];
  let fitting = 0;
  for (let i = 0n; i < n && i < limit; i++) {
    const addr = ctx.main.get<WorkerIndex>(MarketKeys.workerAt(i))!.worker;
    const hex = toHex(addr);
    const w = ctx.main.get<Worker>(MarketKeys.worker(hex))!;
    const reasons = misfits(workerOffer(hex, w, ctx.params.market), needs);
    if (reasons.length > 0) refused.push({ worker: hex, ask: 0n, reasons });
    else fitting++;
  }
  const counts: Record<string, number> = { ...misfitCounts(refused) };
  if (fitting > 0) counts.FIT_BUT_NO_BID = fitting;
  const scanned = Number(n < limit ? n : limit);
  return JSON.stringify({ workers: scanned, ...counts }).slice(0, 1024);
}

/** Slots still open after a window: another window while retries remain, else they are dropped. */
function reopenOrDrop(ctx: ExecContext, idHex: string, t: Task): void {
  if (t.openSlots.length === 0) return;
  if (t.retriesLeft > 0) {
    t.retriesLeft--;
    t.state = TaskState.Open;
    t.closeHeight = BigInt(ctx.height + t.bidWindowBlocks);
    schedule(ctx, t.closeHeight + 1n, DueKind.CloseBids, fromHex(idHex));
    return;
  }
  const dropped = t.openSlots;
  t.openSlots = [];
  t.state = TaskState.Running;
  for (const slot of dropped) evaluateGroup(ctx, idHex, t, Math.floor(slot / t.redundancy));
  maybeFinish(ctx, t, idHex);
}

// ------------------------------------------------------------------------ leases (inner chain)

function endLease(t: Task, l: Lease, ctx: ExecContext, state: LeaseState, outcome: string, idHex: string, index: number): void {
  l.state = state;
  l.outcome = outcome;
  l.endedAt = BigInt(ctx.height);
  t.activeLeases--;
  ctx.announce({ kind: 'lease-ended', task: idHex, lease: index, worker: toHex(l.worker), detail: `${leaseStateName(state)}: ${outcome}` });
}

/**
 * Settles a lease's time since its last settlement, up to `claimedMs` (what the worker reports):
 * a service is paid at once, a batch lease's pay is held for review. Returns false if the escrow
 * could not cover it in full.
 */
function settlePeriod(ctx: ExecContext, t: Task, l: Lease, claimedMs: bigint): boolean {
  let ms = BigInt(ctx.time) - l.paidUntil;
  if (claimedMs < ms) ms = claimedMs;
  if (t.kind === TaskKind.Batch) {
    const cap = BigInt(t.maxHours) * HOUR_MS - l.wallMs;
    if (ms > cap) ms = cap > 0n ? cap : 0n;
  }
  l.paidUntil = BigInt(ctx.time);
  l.wallMs += ms;
  let pay = payFor(l.price, ms);
  let fee = payFor(t.licenseFeePerHour, ms);
  let full = true;
  if (t.feeToken === ZNC) {
    const free = freeEscrow(t);
    if (pay + fee > free) {
      full = false;
      // Not enough for both: the worker and developer share what is left pro rata.
      const total = pay + fee;
      pay = (free * pay) / total;
      fee = free - pay;
    }
  } else {
    const free = freeEscrow(t);
    const freeFee = freeFeeEscrow(t);
    if (pay > free) [pay, full] = [free, false];
    if (fee > freeFee) [fee, full] = [freeFee, false];
  }
  if (t.kind === TaskKind.Service) payOut(ctx, t, l, pay, fee);
  else {
    l.held += pay;
    l.feeHeld += fee;
    t.held += t.feeToken === ZNC ? pay + fee : pay;
    if (t.feeToken !== ZNC) t.feeHeld += fee;
  }
  return full;
}

/** Moves pay out of the escrow to the worker and the license fee to the developer. */
function payOut(ctx: ExecContext, t: Task, l: Lease, pay: bigint, fee: bigint): void {
  if (t.feeToken === ZNC) t.escrow -= pay + fee;
  else {
    t.escrow -= pay;
    t.feeEscrow -= fee;
  }
  l.workerPaid += pay;
  l.feePaid += fee;
  credit(ctx, l.worker, ZNC, pay);
  if (fee > 0n) credit(ctx, t.developer, t.feeToken, fee);
}

/** A batch lease's held pay becomes the worker's (and the developer's). */
function releaseHeld(ctx: ExecContext, t: Task, l: Lease): void {
  const pay = l.held;
  const fee = l.feeHeld;
  t.held -= t.feeToken === ZNC ? pay + fee : pay;
  if (t.feeToken !== ZNC) t.feeHeld -= fee;
  l.held = 0n;
  l.feeHeld = 0n;
  payOut(ctx, t, l, pay, fee);
}

/** A batch lease's held pay goes back to the escrow (the user's). */
function forfeitHeld(t: Task, l: Lease): void {
  t.held -= t.feeToken === ZNC ? l.held + l.feeHeld : l.held;
  if (t.feeToken !== ZNC) t.feeHeld -= l.feeHeld;
  l.held = 0n;
  l.feeHeld = 0n;
}

function refundTask(ctx: ExecContext, t: Task, idHex: string): void {
  ctx.announce({ kind: 'task-ended', task: idHex, detail: `${TASK_STATE_NAMES[t.state]}; refunded ${t.escrow} base units` });
  const znc = t.escrow;
  const fee = t.feeToken === ZNC ? 0n : t.feeEscrow;
  t.escrow = 0n;
  t.feeEscrow = 0n;
  t.endedAt = BigInt(ctx.height);
  credit(ctx, t.owner, ZNC, znc);
  if (fee > 0n) credit(ctx, t.owner, t.feeToken, fee);
}

/** Once nothing runs and nothing waits for a worker, the rest of the escrow goes home. */
function maybeFinish(ctx: ExecContext, t: Task, idHex: string): void {
  if (isTerminalTask(t) || t.activeLeases > 0 || t.openSlots.length > 0) return;
  t.state = TaskState.Done;
  refundTask(ctx, t, idHex);
}

/** Whether a service's free escrow covers less than `lowEscrowMs` of all its running leases. */
function escrowLow(ctx: ExecContext, idHex: string, t: Task): boolean {
  if (t.kind !== TaskKind.Service) return false;
  let perHour = 0n;
  let feePerHour = 0n;
  for (let i = 0; i < t.leaseCount; i++) {
    const l = ctx.state.get<Lease>(MarketKeys.lease(idHex, i))!;
    if (l.state === LeaseState.Started || l.state === LeaseState.Running) {
      perHour += l.price;
      feePerHour += t.licenseFeePerHour;
    }
  }
  const window = BigInt(ctx.params.market.lowEscrowMs);
  if (t.feeToken === ZNC) return freeEscrow(t) < payFor(perHour + feePerHour, window);
  return freeEscrow(t) < payFor(perHour, window) || freeFeeEscrow(t) < payFor(feePerHour, window);
}

function leaseRef(ctx: ExecContext, p: { task: Uint8Array; lease: number }): [string, Task, Lease] {
  const [idHex, t] = readTask(ctx, p.task);
  return [idHex, t, readLease(ctx, idHex, p.lease)];
}

export function startLease(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.StartLease>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  if (l.state !== LeaseState.Matched) fail('LEASE_NOT_MATCHED', `lease ${p.lease} is ${leaseStateName(l.state)}, not waiting to start`);
  if (t.kind === TaskKind.Service && t.ports.length > 0 && p.endpoint === '') {
    fail('INVALID_ARGUMENT', 'a service with ports records the endpoint (host:port) where users reach it');
  }
  l.state = LeaseState.Started;
  l.endpoint = p.endpoint;
  l.startedAt = BigInt(ctx.time);
  l.paidUntil = BigInt(ctx.time);
  l.reportBy = BigInt(ctx.height + ctx.params.market.reportDeadlineBlocks);
  writeLease(ctx, idHex, p.lease, l);
  schedule(ctx, l.reportBy + 1n, DueKind.ReportDeadline, p.task, p.lease);
  ctx.announce({ kind: 'lease-started', task: idHex, lease: p.lease, worker: tx.fromHex, detail: p.endpoint });
}

function addUsage(l: Lease, u: Pick<Payload<typeof TxKind.ReportUsage>, 'cpuSeconds' | 'memoryGiBSeconds' | 'gpuSeconds' | 'networkBytes'>): void {
  l.cpuSeconds += u.cpuSeconds;
  l.memoryGiBSeconds += u.memoryGiBSeconds;
  l.gpuSeconds += u.gpuSeconds;
  l.networkBytes += u.networkBytes;
  if (l.cpuSeconds > MAX_U64 || l.memoryGiBSeconds > MAX_U64 || l.gpuSeconds > MAX_U64 || l.networkBytes > MAX_U64) {
    fail('INVALID_ARGUMENT', 'usage totals overflow 64 bits');
  }
}

export function reportUsage(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.ReportUsage>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  if (l.state !== LeaseState.Started && l.state !== LeaseState.Running) fail('LEASE_NOT_RUNNING', `lease ${p.lease} is ${leaseStateName(l.state)}`);
  if (p.seq <= l.reports) fail('PERIOD_SETTLED', `period ${p.seq} of lease ${p.lease} was already settled (last: ${l.reports})`);
  if (p.seq !== l.reports + 1) fail('REPORT_GAP', `lease ${p.lease} expects period ${l.reports + 1} next`);
  addUsage(l, p);
  const full = settlePeriod(ctx, t, l, p.wallMs);
  l.reports = p.seq;
  l.state = LeaseState.Running;
  l.reportBy = BigInt(ctx.height + ctx.params.market.reportDeadlineBlocks);
  schedule(ctx, l.reportBy + 1n, DueKind.ReportDeadline, p.task, p.lease);
  writeLease(ctx, idHex, p.lease, l);
  if (t.kind === TaskKind.Service) {
    if (!full || freeEscrow(t) === 0n) stopService(ctx, idHex, t, 'escrow ran out');
    else if (t.graceUntil === 0n && escrowLow(ctx, idHex, t)) {
      t.graceUntil = BigInt(ctx.height + ctx.params.market.graceBlocks);
      schedule(ctx, t.graceUntil + 1n, DueKind.GraceEnd, p.task);
      ctx.announce({ kind: 'escrow-low', task: idHex, detail: `escrow low: top up by height ${t.graceUntil} or the service stops` });
    }
  }
  writeTask(ctx, idHex, t);
}

/** Ends every running lease of a service, paying each its time up to now from what is left. */
function stopService(ctx: ExecContext, idHex: string, t: Task, why: string): void {
  for (let i = 0; i < t.leaseCount; i++) {
    const l = readLease(ctx, idHex, i);
    if (!isActiveLease(l)) continue;
    if (l.state !== LeaseState.Matched) settlePeriod(ctx, t, l, MAX_U64);
    endLease(t, l, ctx, LeaseState.Settled, why, idHex, i);
    writeLease(ctx, idHex, i, l);
  }
  t.openSlots = [];
  t.graceUntil = 0n;
  maybeFinish(ctx, t, idHex);
}

/** A batch lease that is running and has not ended with a result yet: the only one a result or commitment may end. */
function requireResultDue(t: Task, l: Lease, lease: number): void {
  if (t.kind !== TaskKind.Batch) fail('NOT_BATCH', 'a service has no result; it ends when cancelled or out of escrow');
  if (l.state === LeaseState.Completed || l.state === LeaseState.Disputed || l.state === LeaseState.Settled) {
    fail('DUPLICATE_RESULT', `lease ${lease} already submitted its result`);
  }
  if (l.state !== LeaseState.Started && l.state !== LeaseState.Running) fail('LEASE_NOT_RUNNING', `lease ${lease} is ${leaseStateName(l.state)}`);
}

export function submitResult(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.SubmitResult>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  requireResultDue(t, l, p.lease);
  if (!DIGEST.test(p.digest)) fail('BAD_DIGEST', `result digest must be sha256: and 64 lowercase hex digits, got "${p.digest}"`);
  refuseCompared(t, l, p.lease);
  addUsage(l, p);
  settlePeriod(ctx, t, l, p.wallMs);
  l.resultDigest = p.digest;
  l.state = LeaseState.Completed;
  writeLease(ctx, idHex, p.lease, l);
  if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
  else if (t.redundancy === 1) {
    l.reviewEnd = BigInt(ctx.height + ctx.params.market.reviewBlocks);
    writeLease(ctx, idHex, p.lease, l);
    schedule(ctx, l.reviewEnd + 1n, DueKind.ReviewEnd, p.task, p.lease);
  } else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
  writeTask(ctx, idHex, t);
}

/** Pays a completed lease after its review window. */
function reviewEnd(ctx: ExecContext, id: Uint8Array, index: number): void {
  const idHex = toHex(id);
  const found = ctx.state.get<Task>(MarketKeys.task(idHex));
  const lease = ctx.state.get<Lease>(MarketKeys.lease(idHex, index));
  if (!found || !lease || lease.state !== LeaseState.Completed || lease.reviewEnd + 1n !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  const l = { ...lease };
  releaseHeld(ctx, t, l);
  endLease(t, l, ctx, LeaseState.Settled, 'result accepted', idHex, index);
  if (!recordAppOutcome(ctx, idHex, index, t, l)) recordOutcome(ctx, l.worker, WorkerOutcome.Completed);
  writeLease(ctx, idHex, index, l);
  maybeFinish(ctx, t, idHex);
  writeTask(ctx, idHex, t);
}

/**
 * Redundancy r ≥ 2: once every copy of a replica has a result (or can no longer get one), the
 * results are compared; the majority goes to review and payment, a minority is slashed.
 */
function evaluateGroup(ctx: ExecContext, idHex: string, t: Task, replica: number): void {
  const r = t.redundancy;
  if (r < 2) return;
  const latest = new Map<number, [number, Lease]>();
  for (let i = 0; i < t.leaseCount; i++) {
    const l = ctx.state.get<Lease>(MarketKeys.lease(idHex, i))!;
    if (l.slot < VERIFY_SLOT && Math.floor(l.slot / r) === replica) latest.set(l.slot, [i, { ...l }]);
  }
  for (let s = replica * r; s < replica * r + r; s++) {
    if (t.openSlots.includes(s)) return;
    const e = latest.get(s);
    // A seat released and not filled again (its slot dropped) can no longer commit, like a failed one.
    if (e && e[1].state !== LeaseState.Completed && e[1].state !== LeaseState.Failed && e[1].state !== LeaseState.Cancelled) return;
  }
  const done = [...latest.values()].filter(([, l]) => l.state === LeaseState.Completed && l.reviewEnd === 0n);
  if (done.length === 0) return;
  // Commit and reveal: compared only once every commitment is revealed or its deadline passed.
  if (!revealsIn(ctx, idHex, done)) return;
  for (const [i, l] of done) if (unrevealed(l)) forfeitUnrevealed(ctx, idHex, t, i, l);
  const revealed = done.filter(([, l]) => !unrevealed(l));
  const votes = new Map<string, number>();
  for (const [, l] of revealed) votes.set(l.resultDigest, (votes.get(l.resultDigest) ?? 0) + 1);
  let majority = '';
  for (const [d, n] of votes) if (n * 2 > r) majority = d;
  for (const [i, l] of revealed) {
    if (majority !== '' && l.resultDigest === majority) {
      l.reviewEnd = BigInt(ctx.height + ctx.params.market.reviewBlocks);
      schedule(ctx, l.reviewEnd + 1n, DueKind.ReviewEnd, fromHex(idHex), i);
    } else {
      forfeitHeld(t, l);
      if (majority !== '') {
        endLease(t, l, ctx, LeaseState.Settled, 'result differs from the majority', idHex, i);
        recordOutcome(ctx, l.worker, WorkerOutcome.Minority, ctx.params.market.wrongResultSlashBp);
      } else {
        endLease(t, l, ctx, LeaseState.Settled, 'no majority among the results; the user is refunded', idHex, i);
      }
    }
    writeLease(ctx, idHex, i, l);
  }
  maybeFinish(ctx, t, idHex);
}

// ------------------------------------------------------------------------------------ disputes
//
// docs/MARKET.md, "Fairness: disputes and verifiers". The verifiers of a disputed result are drawn
// by the chain, never bid for: a bid lets the disputer's accomplice buy the deciding seat. Up to
// three decide by majority; one outvoted by the others is slashed like a minority replica; the
// disputer's deposit pays them, and compensates the worker when the result stands.

/** Verifiers whose majority decides a dispute over more than `singleVerifierMaxPayZnc`; the most any dispute seats. */
const VERIFIER_QUORUM = 3;
/**
 * A draw runs two heights after what calls for it. Its seed is then the hash of the block after the
 * one that committed the call, and that block carries the previous height's commit certificate:
 * bookkeepers' signatures nobody in the dispute can compute beforehand, so neither the disputer
 * (by grinding its transaction) nor a worker can steer the draw.
 */
const DRAW_DELAY_BLOCKS = 2;

function readDispute(ctx: ExecContext, idHex: string, index: number): DisputeState | undefined {
  return ctx.state.get<DisputeState>(MarketKeys.dispute(idHex, index));
}

/** The verifier leases of a disputed lease, as private copies. */
function verifiersOf(ctx: ExecContext, idHex: string, t: Task, disputedIndex: number): [number, Lease][] {
  const out: [number, Lease][] = [];
  for (let i = 0; i < t.leaseCount; i++) {
    const l = ctx.state.get<Lease>(MarketKeys.lease(idHex, i))!;
    if (l.verifies === disputedIndex + 1) out.push([i, { ...l }]);
  }
  return out;
}

/**
 * Who may be drawn to verify: registered, not leaving, bonded at least `minWorkerBond`, able to run
 * the task (resources, GPU, runtime, by the shared matcher) — and not the disputed worker, not the
 * poster, not any worker that holds or held a lease of this task. The poster's own preferences
 * (region, rating floor, price cap) do not narrow the pool: the poster is the disputer, and a
 * narrow pool would let it pick its verifier. Each is paid its ask, at most the task's price cap.
 */
function verifierPool(ctx: ExecContext, idHex: string, t: Task): (DrawCandidate & { address: Uint8Array; price: bigint })[] {
  const reader = ctx.chain === MAIN_CHAIN ? ctx.state : ctx.main;
  const excluded = new Set<string>([toHex(t.owner)]);
  for (let i = 0; i < t.leaseCount; i++) excluded.add(toHex(ctx.state.get<Lease>(MarketKeys.lease(idHex, i))!.worker));
  const needs: TaskNeeds = { ...taskNeeds(t), region: '', minRating: 0 };
  const n = reader.get<Counter>(MarketKeys.workerCount)?.n ?? 0n;
  const limit = BigInt(ctx.params.market.verifierScanLimit);
  const out: (DrawCandidate & { address: Uint8Array; price: bigint })[] = [];
  for (let i = 0n; i < n && i < limit; i++) {
    const address = reader.get<WorkerIndex>(MarketKeys.workerAt(i))!.worker;
    const hex = toHex(address);
    if (excluded.has(hex)) continue;
    const w = reader.get<Worker>(MarketKeys.worker(hex));
    if (!w || !canBeLeased(w, ctx.params.market)) continue;
    const offer = workerOffer(hex, w, ctx.params.market);
    if (misfits(offer, needs, 0n).length > 0) continue;
    const ask = askPrice(offer, needs);
    out.push({ worker: hex, weight: verifierWeight(w.bond, w.rating), address, price: ask < t.maxPricePerHour ? ask : t.maxPricePerHour });
  }
  return out;
}

export function dispute(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.Dispute>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireOwner(t, tx);
  if (t.redundancy !== 1) fail('NOT_DISPUTABLE', 'with redundancy ≥ 2 the results are compared with each other, not disputed');
  if (l.verifies > 0) fail('NOT_DISPUTABLE', 'a verifier\'s result decides the dispute; it cannot be disputed');
  if (l.state !== LeaseState.Completed || BigInt(ctx.height) > l.reviewEnd) fail('NOT_DISPUTABLE', `lease ${p.lease} is not under review`);
  if (verifierPool(ctx, idHex, t).length === 0) {
    fail('NOT_DISPUTABLE', 'no other worker can verify this task (the worker, the poster and the task\'s other lessees cannot); the result stands');
  }
  // Up to three verifiers may run: the deposit covers each one's worst case. It returns, less the
  // verifiers' pay, when the result is overturned; it pays them and the worker's wait when it stands.
  const deposit = mulChecked(t.maxPricePerHour + (t.feeToken === ZNC ? t.licenseFeePerHour : 0n), BigInt(t.maxHours), BigInt(VERIFIER_QUORUM));
  const feeDeposit = t.feeToken === ZNC ? 0n : mulChecked(t.licenseFeePerHour, BigInt(t.maxHours), BigInt(VERIFIER_QUORUM));
  const acc = readAccount(ctx.state, tx.fromHex);
  debit(ctx, acc, ZNC, deposit, tx.from);
  if (feeDeposit > 0n) debit(ctx, acc, t.feeToken, feeDeposit, tx.from);
  writeAccount(ctx.state, tx.fromHex, acc);
  t.escrow += deposit;
  t.feeEscrow += feeDeposit;
  if (t.escrow > MAX_U64 || t.feeEscrow > MAX_U64) fail('INVALID_AMOUNT', 'escrow would not fit in 64 bits');
  l.state = LeaseState.Disputed;
  l.disputeDeposit = deposit;
  writeLease(ctx, idHex, p.lease, l);
  const wanted = l.held > BigInt(ctx.params.market.singleVerifierMaxPayZnc) * ZNC_UNIT ? VERIFIER_QUORUM : 1;
  ctx.state.set(MarketKeys.dispute(idHex, p.lease), { wanted, draws: 0, drawAt: 0n, deposit, feeDeposit, disputedPay: l.held } satisfies DisputeState);
  scheduleDraw(ctx, idHex, p.lease);
  writeTask(ctx, idHex, t);
}

/** Asks for a draw DRAW_DELAY_BLOCKS from now, unless one is pending (it fills every empty seat). */
function scheduleDraw(ctx: ExecContext, idHex: string, disputedIndex: number): void {
  const ds = readDispute(ctx, idHex, disputedIndex)!;
  if (ds.drawAt > BigInt(ctx.height)) return;
  const drawAt = BigInt(ctx.height + DRAW_DELAY_BLOCKS);
  ctx.state.set(MarketKeys.dispute(idHex, disputedIndex), { ...ds, drawAt });
  schedule(ctx, drawAt, DueKind.DrawVerifiers, fromHex(idHex), disputedIndex);
}

/** The chain draws verifiers for the empty seats of a dispute and leases them the task, unasked. */
function drawDue(ctx: ExecContext, id: Uint8Array, disputedIndex: number): void {
  const idHex = toHex(id);
  const found = ctx.state.get<Task>(MarketKeys.task(idHex));
  const d = ctx.state.get<Lease>(MarketKeys.lease(idHex, disputedIndex));
  const found2 = readDispute(ctx, idHex, disputedIndex);
  if (!found || !d || !found2 || d.state !== LeaseState.Disputed || found2.drawAt !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  const ds = { ...found2, drawAt: 0n };
  // A seat whose verifier never started (Failed at its start deadline) or gave it back (Cancelled) is empty.
  const seated = verifiersOf(ctx, idHex, t, disputedIndex).filter(([, v]) => v.state !== LeaseState.Failed && v.state !== LeaseState.Cancelled).length;
  const need = Math.min(ds.wanted - seated, ctx.params.market.maxVerifierDraws - ds.draws);
  if (need > 0) {
    const pool = verifierPool(ctx, idHex, t);
    for (const hex of drawVerifiers(drawSeed(ctx.prevHash, id, disputedIndex, ds.draws), pool, need)) {
      const c = pool.find((x) => x.worker === hex)!;
      createVerifierLease(ctx, idHex, t, disputedIndex, c.address, c.price);
      ds.draws++;
    }
  }
  ctx.state.set(MarketKeys.dispute(idHex, disputedIndex), ds);
  // Nobody left to draw: the dispute is decided with the verifiers it has.
  settleDispute(ctx, idHex, t, disputedIndex);
  writeTask(ctx, idHex, t);
}

function createVerifierLease(ctx: ExecContext, idHex: string, t: Task, disputedIndex: number, worker: Uint8Array, price: bigint): void {
  const [index, startBy] = newLease(ctx, idHex, t, worker, VERIFY_SLOT + disputedIndex, price, disputedIndex + 1);
  ctx.announce({ kind: 'lease-matched', task: idHex, lease: index, worker: toHex(worker), detail: `drawn to verify lease ${disputedIndex}; start by height ${startBy}` });
}

/**
 * A drawn verifier missed a deadline. Not starting costs it nothing (it never asked for the duty;
 * it only forgoes the pay) and its seat is drawn again. Once started it is a lease like any other:
 * stopping reports is abandoning it, with the usual slash.
 */
function verifierMissed(ctx: ExecContext, idHex: string, t: Task, l: Lease, index: number, missedStart: boolean): void {
  if (missedStart) {
    endLease(t, l, ctx, LeaseState.Failed, `drawn verifier did not start by height ${l.startBy}; no penalty, another is drawn`, idHex, index);
  } else {
    releaseHeld(ctx, t, l);
    endLease(t, l, ctx, LeaseState.Failed, `verifier stopped reporting (last report due by height ${l.reportBy})`, idHex, index);
    recordOutcome(ctx, l.worker, WorkerOutcome.Abandoned, ctx.params.market.failSlashBp);
  }
  writeLease(ctx, idHex, index, l);
  redrawVerifier(ctx, idHex, t, l);
  writeTask(ctx, idHex, t);
}

/** A verifier seat left empty (not started, released, abandoned): another is drawn while draws remain, else the dispute is settled. */
function redrawVerifier(ctx: ExecContext, idHex: string, t: Task, l: Lease): void {
  const disputedIndex = l.verifies - 1;
  if (readDispute(ctx, idHex, disputedIndex)!.draws < ctx.params.market.maxVerifierDraws) scheduleDraw(ctx, idHex, disputedIndex);
  else settleDispute(ctx, idHex, t, disputedIndex);
}

/**
 * Decides a dispute once no verifier runs and no draw is pending. The verifiers' majority (of the
 * seats wanted) decides; overturning a result takes at least two verifiers agreeing, so a single
 * verifier that disagrees calls two more instead (BOINC's adaptive replication). A verifier outside
 * the majority is slashed `wrongResultSlashBp` and unpaid. With no majority the result stands.
 */
function settleDispute(ctx: ExecContext, idHex: string, t: Task, disputedIndex: number): void {
  const d = readLease(ctx, idHex, disputedIndex);
  const ds = readDispute(ctx, idHex, disputedIndex);
  if (d.state !== LeaseState.Disputed || !ds || ds.drawAt > BigInt(ctx.height)) return;
  const vs = verifiersOf(ctx, idHex, t, disputedIndex);
  if (vs.some(([, v]) => v.state === LeaseState.Matched || v.state === LeaseState.Started || v.state === LeaseState.Running)) return;
  const committed = vs.filter(([, v]) => v.state === LeaseState.Completed);
  // Commit and reveal: the verifiers' results are compared once all are revealed or the deadline passed.
  if (!revealsIn(ctx, idHex, committed)) return;
  for (const [i, v] of committed) if (unrevealed(v)) forfeitUnrevealed(ctx, idHex, t, i, v);
  const done = committed.filter(([, v]) => !unrevealed(v));
  const votes = new Map<string, number>();
  for (const [, v] of done) votes.set(v.resultDigest, (votes.get(v.resultDigest) ?? 0) + 1);
  let majority = '';
  for (const [digest, n] of votes) if (n * 2 > ds.wanted) majority = digest;
  if (ds.wanted === 1 && majority !== '' && majority !== d.resultDigest && ds.draws < ctx.params.market.maxVerifierDraws) {
    ctx.state.set(MarketKeys.dispute(idHex, disputedIndex), { ...ds, wanted: VERIFIER_QUORUM });
    scheduleDraw(ctx, idHex, disputedIndex);
    return;
  }
  const stands = majority !== '' && majority === d.resultDigest;
  const overturned = majority !== '' && !stands && (votes.get(majority) ?? 0) >= 2;
  const decided = stands || overturned;
  for (const [i, v] of done) {
    if (!decided || v.resultDigest === majority) {
      releaseHeld(ctx, t, v);
      endLease(t, v, ctx, LeaseState.Settled, decided ? 'verification done: with the majority' : 'verification done: no majority', idHex, i);
      recordOutcome(ctx, v.worker, WorkerOutcome.Completed);
    } else {
      forfeitHeld(t, v);
      endLease(t, v, ctx, LeaseState.Settled, 'verifier outvoted: its result differs from the other verifiers\' majority', idHex, i);
      recordOutcome(ctx, v.worker, WorkerOutcome.Minority, ctx.params.market.wrongResultSlashBp);
    }
    writeLease(ctx, idHex, i, v);
  }
  const tally = `${votes.get(majority) ?? 0} of ${ds.wanted} verifiers`;
  if (stands) {
    releaseHeld(ctx, t, d);
    // The deposit, less what the verifiers earned, pays the worker for the wait: as much again as
    // its held pay, at most.
    let spent = 0n;
    for (const [, v] of vs) spent += v.workerPaid + (t.feeToken === ZNC ? v.feePaid : 0n);
    const left = ds.deposit > spent ? ds.deposit - spent : 0n;
    let comp = ds.disputedPay < left ? ds.disputedPay : left;
    if (comp > freeEscrow(t)) comp = freeEscrow(t);
    if (comp > 0n) {
      t.escrow -= comp;
      credit(ctx, d.worker, ZNC, comp);
    }
    endLease(t, d, ctx, LeaseState.Settled, `dispute decided for the worker: ${tally} got its result`, idHex, disputedIndex);
    recordOutcome(ctx, d.worker, WorkerOutcome.Completed);
  } else if (overturned) {
    forfeitHeld(t, d);
    endLease(t, d, ctx, LeaseState.Settled, `dispute decided for the user: ${tally} got another result`, idHex, disputedIndex);
    recordOutcome(ctx, d.worker, WorkerOutcome.DisputeLost, ctx.params.market.wrongResultSlashBp, t.owner);
  } else {
    releaseHeld(ctx, t, d);
    endLease(t, d, ctx, LeaseState.Settled, 'dispute lapsed: no majority of drawn verifiers; the result stands', idHex, disputedIndex);
    recordOutcome(ctx, d.worker, WorkerOutcome.Completed);
  }
  writeLease(ctx, idHex, disputedIndex, d);
  ctx.state.set(MarketKeys.dispute(idHex, disputedIndex), null);
  maybeFinish(ctx, t, idHex);
}

/** A missed deadline: the lease fails, the worker is slashed and rated down, the slot re-offered. */
function leaseDeadline(ctx: ExecContext, id: Uint8Array, index: number, kind: DueKind): void {
  const idHex = toHex(id);
  const found = ctx.state.get<Task>(MarketKeys.task(idHex));
  const lease = ctx.state.get<Lease>(MarketKeys.lease(idHex, index));
  if (!found || !lease) return;
  const h = BigInt(ctx.height);
  const missedStart = kind === DueKind.StartDeadline && lease.state === LeaseState.Matched && lease.startBy + 1n === h;
  const missedReport = kind === DueKind.ReportDeadline && (lease.state === LeaseState.Started || lease.state === LeaseState.Running) && lease.reportBy + 1n === h;
  if (!missedStart && !missedReport) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  const l = { ...lease };
  if (l.verifies > 0) return verifierMissed(ctx, idHex, t, l, index, missedStart);
  if (missedStart) {
    endLease(t, l, ctx, LeaseState.Failed, `did not start by height ${l.startBy}`, idHex, index);
    recordOutcome(ctx, l.worker, WorkerOutcome.Failed, ctx.params.market.failSlashBp);
  } else {
    // What the worker reported is paid; the silence after it is not.
    releaseHeld(ctx, t, l);
    endLease(t, l, ctx, LeaseState.Failed, `stopped reporting (last report due by height ${l.reportBy})`, idHex, index);
    recordOutcome(ctx, l.worker, WorkerOutcome.Abandoned, ctx.params.market.failSlashBp);
  }
  writeLease(ctx, idHex, index, l);
  if (!isTerminalTask(t)) {
    t.openSlots.push(l.slot);
    if (t.state === TaskState.Open && t.closeHeight >= h) {
      // a window is open: the slot joins it
    } else reopenOrDrop(ctx, idHex, t);
  }
  writeTask(ctx, idHex, t);
}

/** A service in grace: stop it if the escrow is still low, else carry on. */
function graceEnd(ctx: ExecContext, id: Uint8Array): void {
  const idHex = toHex(id);
  const found = ctx.state.get<Task>(MarketKeys.task(idHex));
  if (!found || isTerminalTask(found) || found.graceUntil === 0n || found.graceUntil + 1n !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  if (escrowLow(ctx, idHex, t)) stopService(ctx, idHex, t, 'escrow ran low and was not topped up');
  else t.graceUntil = 0n;
  writeTask(ctx, idHex, t);
}

/** Start of every height on every chain: what the market scheduled for it. */
export function marketWork(ctx: ExecContext): void {
  const countKey = MarketKeys.dueCount(ctx.height);
  const n = ctx.state.get<Counter>(countKey)?.n ?? 0n;
  if (n === 0n) return;
  for (let i = 0n; i < n; i++) {
    const key = MarketKeys.due(ctx.height, i);
    const d = ctx.state.get<Due>(key)!;
    ctx.state.set(key, null);
    switch (d.kind) {
      case DueKind.CloseBids:
        closeBids(ctx, d.id);
        break;
      case DueKind.StartDeadline:
      case DueKind.ReportDeadline:
        leaseDeadline(ctx, d.id, d.lease, d.kind);
        break;
      case DueKind.ReviewEnd:
        reviewEnd(ctx, d.id, d.lease);
        break;
      case DueKind.GraceEnd:
        graceEnd(ctx, d.id);
        break;
      case DueKind.WorkerRelease:
        releaseWorkerBond(ctx, d.id);
        break;
      case DueKind.DrawVerifiers:
        drawDue(ctx, d.id, d.lease);
        break;
      case DueKind.RevealEnd:
        revealEnd(ctx, d.id, d.lease);
        break;
    }
  }
  ctx.state.set(countKey, null);
}

// ---------------------------------------- app outcomes and released leases (inner chain, main)
// docs/MARKET.md, "Fairness: app failures and missing images". Neither is the worker's fault: an
// app that fails on its own inside its limits is the lease's outcome (paid for its time, compared
// and disputed like a result); a lease whose image cannot be fetched is given back before it starts.

/** `name@version` of a task's app, as the fairness records on main name it (none for a raw image). */
const appRef = (t: Task): string[] => (t.app === '' ? [] : [`${t.app}@${t.version}`]);

function recordFairness(ctx: ExecContext, worker: Uint8Array, outcome: typeof WorkerOutcome.AppFailed | typeof WorkerOutcome.Released, t: Task): void {
  const data = encode(WorkerOutcomeSchema, { outcome, slashBp: 0, beneficiary: new Uint8Array(), app: appRef(t) });
  const r: Omit<Receipt, 'source'> = { kind: ReceiptKind.WorkerRecord, address: worker, token: ZNC, amount: 0n, data };
  if (ctx.chain === MAIN_CHAIN) applyWorkerRecord(ctx, { ...r, source: MAIN_CHAIN });
  else ctx.emit(r);
}

/** Main chain: an accepted app outcome or a release counts on the worker's record and the app version's, never on its rating or bond. */
function applyFairnessRecord(ctx: ExecContext, hex: string, w: Worker, outcome: WorkerOutcome, app: string | undefined): void {
  if (outcome === WorkerOutcome.AppFailed) w.appFailures++;
  else w.released++;
  ctx.state.set(MarketKeys.worker(hex), w);
  if (app === undefined) return;
  const at = app.lastIndexOf('@');
  const key = MarketKeys.app(app.slice(0, at), app.slice(at + 1));
  const found = ctx.state.get<App>(key);
  if (!found) return;
  ctx.state.set(key, outcome === WorkerOutcome.AppFailed ? { ...found, failures: found.failures + 1n } : { ...found, releases: found.releases + 1n });
}

/**
 * A batch lease's app failed on its own (exit code, OOM, max hours, trap): its outcome is the lease's
 * result. The chain computes the digest compared, so redundancy (evaluateGroup) and disputes handle
 * it exactly as a result; the worker is paid for the time it ran, after the same review.
 */
export function submitAppOutcome(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.SubmitAppOutcome>): void {
  const [idHex, , l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  const canonical = { exitCode: p.exitCode, oomKilled: p.oomKilled, cause: p.cause };
  const problem = appOutcomeProblem(canonical);
  if (problem) fail('INVALID_ARGUMENT', problem);
  if (!DIGEST.test(p.logDigest)) fail('BAD_DIGEST', `log digest must be sha256: and 64 lowercase hex digits, got "${p.logDigest}"`);
  const digest = appOutcomeDigest(canonical);
  // Every check and every effect of a result: state, pay held for review, comparison, dispute.
  submitResult(ctx, tx, { task: p.task, lease: p.lease, digest, cpuSeconds: p.cpuSeconds, memoryGiBSeconds: p.memoryGiBSeconds, gpuSeconds: p.gpuSeconds, networkBytes: p.networkBytes, wallMs: p.wallMs });
  ctx.state.set(MarketKeys.appOutcome(idHex, p.lease), { ...canonical, logDigest: p.logDigest, digest } satisfies AppOutcome);
}

/** At review end: an accepted app outcome is noted on the worker's and the app's record instead of a completion. */
function recordAppOutcome(ctx: ExecContext, idHex: string, index: number, t: Task, l: Lease): boolean {
  const o = ctx.state.get<AppOutcome>(MarketKeys.appOutcome(idHex, index));
  if (!o || o.digest !== l.resultDigest) return false;
  l.outcome = `app outcome accepted: the app ${describeAppOutcome(o)}`;
  recordFairness(ctx, l.worker, WorkerOutcome.AppFailed, t);
  return true;
}

const RELEASE_REASON = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * A matched lease its worker gives back before starting it because its image cannot be fetched:
 * no slash, no rating change; counted on the worker's record and the app version's; the worker may
 * not bid on the task again; the slot is offered again without using one of the task's retries.
 */
export function releaseLease(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.ReleaseLease>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  if (l.state !== LeaseState.Matched) {
    fail('LEASE_NOT_MATCHED', `lease ${p.lease} is ${leaseStateName(l.state)}: only a lease that has not started can be released`);
  }
  if (!RELEASE_REASON.test(p.reason)) fail('INVALID_ARGUMENT', 'reason: the error code of the fetch that failed, e.g. MANIFEST_UNAVAILABLE (A-Z, 0-9, _)');
  endLease(t, l, ctx, LeaseState.Cancelled, `released by its worker before starting: ${p.reason}`, idHex, p.lease);
  writeLease(ctx, idHex, p.lease, l);
  ctx.state.set(MarketKeys.released(idHex, tx.fromHex), { lease: p.lease, height: BigInt(ctx.height) } satisfies Released);
  recordFairness(ctx, l.worker, WorkerOutcome.Released, t);
  // A drawn verifier's seat is drawn again, never offered to bids (a bid would let a colluder buy it).
  if (l.verifies > 0) redrawVerifier(ctx, idHex, t, l);
  else if (!isTerminalTask(t)) {
    t.openSlots.push(l.slot);
    const h = BigInt(ctx.height);
    if (t.state !== TaskState.Open || t.closeHeight < h) {
      // A new window, not a retry: each worker releases a task at most once, so releases end by themselves.
      t.state = TaskState.Open;
      t.closeHeight = h + BigInt(t.bidWindowBlocks);
      schedule(ctx, t.closeHeight + 1n, DueKind.CloseBids, p.task);
    }
  }
  writeTask(ctx, idHex, t);
}

function refuseReleased(ctx: ExecContext, idHex: string, tx: Tx): void {
  const r = ctx.state.get<Released>(MarketKeys.released(idHex, tx.fromHex));
  if (r) fail('LEASE_RELEASED', `this worker released lease ${r.lease} of task ${idHex} at height ${r.height}; it cannot bid on that task again`);
}

// ------------------------------------------------------------ commit and reveal (inner chain)
// docs/MARKET.md, "Fairness: commit and reveal". A result compared with other workers' — a copy in
// a redundancy group, a verifier's — is first committed (a salted hash bound to the task, the lease
// and the worker), and revealed only once every seat of its group has committed or can no longer
// commit: no digest is on the chain for a lazy worker to copy before it commits, and a copied
// commitment matches no reveal its copier can make. A commitment not revealed by the deadline is
// a wrong result: its pay forfeited and `wrongResultSlashBp` slashed — never better than revealing.

/** A lease whose result is compared with others': a seat of a redundancy group, or a verifier's. */
const isCompared = (t: Task, l: Lease): boolean => l.verifies > 0 || (t.redundancy >= 2 && l.slot < VERIFY_SLOT);
const unrevealed = (l: Lease): boolean => l.commitment.length > 0 && l.resultDigest === '';

function refuseCompared(t: Task, l: Lease, index: number): void {
  if (isCompared(t, l)) {
    fail('COMMIT_REQUIRED', `lease ${index}'s result is compared with other workers' (${l.verifies > 0 ? 'a verifier seat' : `redundancy ${t.redundancy}`}): commit to it (CommitResult) and reveal it when the group's reveal phase opens`);
  }
}

/**
 * Whether the committed leases of a group (or of a dispute's verifier seats) can be compared now:
 * every commitment revealed, or the reveal deadline passed. The first time all are in, it opens the
 * reveal phase (each unrevealed lease gets `revealBy`) and schedules its end.
 */
function revealsIn(ctx: ExecContext, idHex: string, committed: [number, Lease][]): boolean {
  const waiting = committed.filter(([, l]) => unrevealed(l));
  if (waiting.length === 0) return true;
  const h = BigInt(ctx.height);
  const closed = waiting.filter(([, l]) => l.revealBy === 0n);
  if (closed.length > 0) {
    const revealBy = h + BigInt(ctx.params.market.revealDeadlineBlocks);
    for (const [i, l] of closed) {
      l.revealBy = revealBy;
      writeLease(ctx, idHex, i, l);
    }
    schedule(ctx, revealBy + 1n, DueKind.RevealEnd, fromHex(idHex), closed[0][0]);
    return false;
  }
  return waiting.every(([, l]) => h > l.revealBy);
}

/** A commitment not revealed by its deadline: a wrong result (pay forfeited to the escrow, bond slashed). */
function forfeitUnrevealed(ctx: ExecContext, idHex: string, t: Task, index: number, l: Lease): void {
  forfeitHeld(t, l);
  endLease(t, l, ctx, LeaseState.Settled, `result not revealed by height ${l.revealBy}: counted as a wrong result`, idHex, index);
  recordOutcome(ctx, l.worker, WorkerOutcome.Minority, ctx.params.market.wrongResultSlashBp);
  writeLease(ctx, idHex, index, l);
}

/**
 * The end of a compared lease: its last usage is settled (held for review, as a result's) and its
 * commitment stored; the digest stays off the chain until the reveal.
 */
export function commitResult(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.CommitResult>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  requireResultDue(t, l, p.lease);
  if (!isCompared(t, l)) fail('COMMIT_NOT_NEEDED', `lease ${p.lease}'s result is compared with nobody's (redundancy 1, not a verifier): submit it (SubmitResult or SubmitAppOutcome)`);
  addUsage(l, p);
  settlePeriod(ctx, t, l, p.wallMs);
  l.commitment = p.commitment;
  l.state = LeaseState.Completed;
  writeLease(ctx, idHex, p.lease, l);
  if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
  else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
  writeTask(ctx, idHex, t);
}

/** Opens a commitment: the digest (or the app outcome, whose digest the chain computes) and the salt. */
export function revealResult(ctx: ExecContext, tx: Tx, p: Payload<typeof TxKind.RevealResult>): void {
  const [idHex, t, l] = leaseRef(ctx, p);
  requireLessee(l, tx, p.lease);
  if (l.commitment.length === 0) fail('NOT_COMMITTED', `lease ${p.lease} has no commitment to reveal`);
  if (l.resultDigest !== '') fail('ALREADY_REVEALED', `lease ${p.lease} already revealed its result`);
  if (l.state !== LeaseState.Completed) fail('REVEAL_CLOSED', `lease ${p.lease} is ${leaseStateName(l.state)}: ${l.outcome}`);
  if (l.revealBy === 0n) fail('REVEAL_NOT_OPEN', `the other seats of lease ${p.lease}'s group have not all committed yet: reveal once the lease shows a reveal deadline`);
  if (BigInt(ctx.height) > l.revealBy) fail('REVEAL_CLOSED', `the reveal deadline was height ${l.revealBy}`);
  let digest = p.digest;
  let outcome: AppOutcome | undefined;
  if (p.appOutcome) {
    const canonical = { exitCode: p.exitCode, oomKilled: p.oomKilled, cause: p.cause };
    const problem = appOutcomeProblem(canonical);
    if (problem) fail('INVALID_ARGUMENT', problem);
    if (!DIGEST.test(p.logDigest)) fail('BAD_DIGEST', `log digest must be sha256: and 64 lowercase hex digits, got "${p.logDigest}"`);
    if (p.digest !== '') fail('INVALID_ARGUMENT', 'an app outcome\'s digest is computed by the chain: leave `digest` empty');
    digest = appOutcomeDigest(canonical);
    outcome = { ...canonical, logDigest: p.logDigest, digest };
  } else {
    if (!DIGEST.test(p.digest)) fail('BAD_DIGEST', `result digest must be sha256: and 64 lowercase hex digits, got "${p.digest}"`);
    if (p.exitCode !== 0 || p.oomKilled || p.cause !== '' || p.logDigest !== '') fail('INVALID_ARGUMENT', 'a result\'s reveal carries no app outcome fields');
  }
  if (!bytesEqual(resultCommitment(p.task, p.lease, l.worker, digest, p.salt), l.commitment)) {
    fail('REVEAL_MISMATCH', `this ${p.appOutcome ? 'app outcome' : 'digest'} and salt do not match lease ${p.lease}'s commitment (a commitment is bound to its task, lease and worker)`);
  }
  l.resultDigest = digest;
  writeLease(ctx, idHex, p.lease, l);
  if (outcome) ctx.state.set(MarketKeys.appOutcome(idHex, p.lease), outcome);
  if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
  else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
  writeTask(ctx, idHex, t);
}

/** A reveal deadline passed: the group (or dispute) is compared with the reveals it has. */
function revealEnd(ctx: ExecContext, id: Uint8Array, index: number): void {
  const idHex = toHex(id);
  const found = ctx.state.get<Task>(MarketKeys.task(idHex));
  const l = ctx.state.get<Lease>(MarketKeys.lease(idHex, index));
  if (!found || !l || l.revealBy + 1n !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
  else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
  writeTask(ctx, idHex, t);
}
