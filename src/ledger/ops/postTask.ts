import * as stores from '../stores.ts';
import { toHex } from '../../crypto/portable.ts';
import { RUNTIMES, resultTooLarge } from '../../market/index.ts';
import { debit, readAccount, writeAccount } from '../context.ts';
import { fail } from '../errors.ts';
import { mulChecked } from '../market/escrow.ts';
import { TaskState } from '../market/lifecycle.ts';
import { DIGEST, schedule, taskIdFor, writeTask } from '../market/tasks.ts';
import { DueKind, TaskKind, TaskNeedsFields, TaskOrderFields, type Task } from '../marketEntries.ts';
import { MAX_U64, ZNC } from '../params.ts';
import { defineOp } from './operation.ts';

const MAX_SLOTS = 512;

export const postTask = defineOp({
  kind: 22,
  name: 'PostTask',
  schema: { $id: 'PostTask', fields: { ...TaskNeedsFields, ...TaskOrderFields } },
  // The escrow is the poster's funds, on its home chain; the task lives there with it (its id names that chain).
  route: 'home',
  admit(ctx, _tx, p) {
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
  },
  apply(ctx, tx, p) {
    let digest = p.image;
    let developer: Uint8Array = new Uint8Array();
    let feeToken = ZNC;
    let licenseFeePerHour = 0n;
    if (p.app !== '') {
      const app = stores.apps.get(ctx.main, p.app, p.version);
      if (!app) fail('UNKNOWN_APP', `no app ${p.app}@${p.version}`);
      if (app.deprecated) fail('APP_DEPRECATED', `${p.app}@${p.version} is deprecated; use a newer version`);
      if (app.requiresLicense && !stores.licenses.get(ctx.main, p.app, tx.fromHex)) {
        fail('LICENSE_REQUIRED', `${p.app} requires a license: acquire it first`);
      }
      ({ digest, developer, feeToken, licenseFeePerHour } = app);
    } else if (!DIGEST.test(p.image)) fail('BAD_DIGEST', `image digest must be sha256: and 64 lowercase hex digits, got "${p.image}"`);
    const slots = BigInt(p.replicas * p.redundancy);
    const workerCost = mulChecked(p.maxPricePerHour, BigInt(p.maxHours), slots);
    const feeCost = mulChecked(licenseFeePerHour, BigInt(p.maxHours), slots);
    const escrow = feeToken === ZNC ? workerCost + feeCost : workerCost;
    const feeEscrow = feeToken === ZNC ? 0n : feeCost;
    if (escrow > MAX_U64) fail('INVALID_AMOUNT', "the task's worst-case cost does not fit in 64 bits");
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
  },
});
