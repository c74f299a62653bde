import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TaskKind, ZNC_DECIMALS, type Gpu, type Payload, type TxKind } from '../ledger/index.ts';
import { RUNTIMES } from '../market/index.ts';
import { formatUnits, parseAmount, type QuoteRequest, type TaskNeedsAnswer, type WorkerAnswer } from '../sdk/index.ts';

// Flags of the market commands and how they become transaction payloads: cores and sizes as
// people write them (0.5 cores, 16GiB), prices in ZNC, and the same task flags for
// `task quote` and `task post` so that a quote can be turned into a post by changing one word.

const U32_MAX = 0xffff_ffff;

export const fromOpt = ['--from <name>', 'key name in the keystore that signs'] as const;
export const waitOpt = [
  '--wait',
  'return once the transaction is committed (given again to the next --node URL when a node stops answering or loses it)',
] as const;

export const znc = (base: bigint | string): string => `${formatUnits(base, ZNC_DECIMALS)} ZNC`;

/** Commander collector for repeatable flags. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function wholeNumber(name: string, max = U32_MAX): (v: string) => number {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) > max) throw new Error(`${name} must be a whole number 0..${max}, got "${v}"`);
    return Number(v);
  };
}

/** "2", "0.5", "1.25" cores → millicores. */
export function parseCores(v: string): number {
  let m: bigint;
  try {
    m = parseAmount(v, 3);
  } catch {
    throw new Error(`--cpu takes cores, e.g. 2 or 0.5 (at most 3 decimals), got "${v}"`);
  }
  if (m > BigInt(U32_MAX)) throw new Error(`--cpu ${v} is too many cores`);
  return Number(m);
}

const UNIT_MIB: Record<string, number> = { '': 1, mib: 1, gib: 1024, tib: 1024 * 1024 };

/** "512", "512MiB", "16GiB", "1.5TiB" → MiB (a bare number is MiB). */
export function parseMiB(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const unit = m ? UNIT_MIB[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${flag} takes a size like 512, 512MiB, 16GiB or 2TiB (a bare number is MiB), got "${v}"`);
  const mib = Math.round(Number(m[1]) * unit);
  if (mib > U32_MAX) throw new Error(`${flag} ${v} is too large`);
  return mib;
}

/** --gpu MODEL:MEMORY:COUNT, e.g. A100:40GiB:2 or A100:40960:2 (memory per GPU; bare numbers are MiB). */
export function parseGpu(v: string): Gpu {
  const parts = v.split(':');
  if (parts.length !== 3 || parts[0] === '') throw new Error(`--gpu takes MODEL:MEMORY:COUNT (e.g. A100:40GiB:2), got "${v}"`);
  return { model: parts[0], memoryMiB: parseMiB(parts[1], '--gpu memory'), count: wholeNumber('--gpu count', 1024)(parts[2]) };
}

export function parseRuntime(v: string): string {
  if (!(RUNTIMES as readonly string[]).includes(v)) throw new Error(`unknown runtime "${v}" (known: ${RUNTIMES.join(', ')})`);
  return v;
}

export const parseZnc = (v: string): bigint => parseAmount(v, ZNC_DECIMALS);

/** A 32-byte key in hex. */
export function parseKeyHex(v: string, flag: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new Error(`${flag} takes 32 bytes as 64 hex digits, got "${v}"`);
  return Uint8Array.from(Buffer.from(v, 'hex'));
}

/** A task id: 64 hex digits. */
export function parseTaskId(v: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new Error(`a task id is 64 hex digits (as \`zeus task post\` prints it), got "${v}"`);
  return Uint8Array.from(Buffer.from(v, 'hex'));
}

// ------------------------------------------------------------------------------------ workers

/** Flags shared by `worker register` and `worker update`; `true`: required to register. */
const WORKER_FLAGS: [string, string, boolean][] = [
  ['--cpu <cores>', 'cores offered, decimals allowed (0.5 = 500 millicores)', true],
  ['--memory <size>', 'memory offered: 512, 512MiB, 16GiB (a bare number is MiB)', true],
  ['--disk <size>', 'disk offered (same units as --memory; default 0)', false],
  ['--bandwidth <mbps>', 'network bandwidth in Mbit/s (default 0)', false],
  ['--region <name>', 'region the worker runs in (default none)', false],
  ['--endpoint <host:port>', "where the worker's node can be reached", true],
  ['--seal-key <hex>', 'X25519 public key (hex) tasks seal secrets to (default: derived from the signing key and printed)', false],
  ['--price-cpu <znc>', 'ZNC per core-hour', true],
  ['--price-memory <znc>', 'ZNC per GiB-hour of memory (default 0)', false],
  ['--price-gpu <znc>', 'ZNC per GPU-hour (default 0)', false],
];

export function workerSpecOptions(cmd: Command, registering: boolean): Command {
  for (const [flags, what, needed] of WORKER_FLAGS) {
    if (registering && needed) cmd.requiredOption(flags, what);
    else cmd.option(flags, what);
  }
  return cmd
    .option('--gpu <model:memory:count>', `GPUs of one model, e.g. A100:40GiB:2 (repeatable${registering ? '' : '; "none" removes all'})`, collect)
    .option('--runtime <name>', `runtime offered: ${RUNTIMES.join(' or ')} (repeatable${registering ? '; default docker' : ''})`, collect);
}

export interface WorkerSpecFlags {
  cpu?: string;
  memory?: string;
  disk?: string;
  bandwidth?: string;
  gpu?: string[];
  runtime?: string[];
  region?: string;
  endpoint?: string;
  sealKey?: string;
  priceCpu?: string;
  priceMemory?: string;
  priceGpu?: string;
}

export type WorkerSpec = Omit<Payload<typeof TxKind.UpdateWorker>, 'addBond'>;

/** The worker spec from flags over `base` (the registered spec on update, defaults on register). */
export function workerSpec(o: WorkerSpecFlags, base: WorkerSpec): WorkerSpec {
  const gpus = o.gpu === undefined ? base.gpus : o.gpu.includes('none') ? [] : o.gpu.map(parseGpu);
  return {
    cpuMillis: o.cpu !== undefined ? parseCores(o.cpu) : base.cpuMillis,
    memoryMiB: o.memory !== undefined ? parseMiB(o.memory, '--memory') : base.memoryMiB,
    diskMiB: o.disk !== undefined ? parseMiB(o.disk, '--disk') : base.diskMiB,
    bandwidthMbps: o.bandwidth !== undefined ? wholeNumber('--bandwidth')(o.bandwidth) : base.bandwidthMbps,
    gpus,
    runtimes: o.runtime !== undefined ? o.runtime.map(parseRuntime) : base.runtimes,
    region: o.region ?? base.region,
    endpoint: o.endpoint ?? base.endpoint,
    sealKey: o.sealKey !== undefined ? parseKeyHex(o.sealKey, '--seal-key') : base.sealKey,
    priceCpuCoreHour: o.priceCpu !== undefined ? parseZnc(o.priceCpu) : base.priceCpuCoreHour,
    priceMemoryGiBHour: o.priceMemory !== undefined ? parseZnc(o.priceMemory) : base.priceMemoryGiBHour,
    priceGpuHour: o.priceGpu !== undefined ? parseZnc(o.priceGpu) : base.priceGpuHour,
  };
}

// -------------------------------------------------------------------------------------- tasks

/** Flags of `task quote` and `task post`: the quote reads the needs and the max price. */
export function taskOptions(cmd: Command): Command {
  return cmd
    .option('--app <name[@version]>', 'a published app (without @version: its newest version not deprecated)')
    .option('--image <sha256:…>', 'a raw image digest instead of an app')
    .option('--cpu <cores>', 'cores per replica, decimals allowed', '1')
    .option('--memory <size>', 'memory per replica: 512, 512MiB, 16GiB (a bare number is MiB)', '512MiB')
    .option('--disk <size>', 'disk per replica', '0')
    .option('--bandwidth <mbps>', 'bandwidth per replica in Mbit/s', '0')
    .option('--gpus <n>', 'GPUs per replica', '0')
    .option('--gpu-model <model>', 'GPU model, e.g. A100 (default: any model)')
    .option('--gpu-memory <size>', 'memory each GPU must have', '0')
    .option('--runtime <name>', `runtime: ${RUNTIMES.join(' or ')}`, 'docker')
    .option('--region <name>', 'region the workers must be in (default: any region)')
    .option('--min-rating <n>', 'least worker rating, 0..1000', '0')
    .requiredOption('--max-price <znc>', 'most ZNC per hour the task pays a worker for one replica')
    .option('--max-hours <n>', 'longest run in hours (the escrow covers max price × hours × replicas × redundancy)', '1')
    .option('--replicas <n>', 'replicas', '1')
    .option('--redundancy <n>', 'copies of each replica whose results are compared (batch only)', '1')
    .option('--kind <kind>', 'batch (runs to a result) or service (runs until cancelled or out of escrow)', 'batch')
    .option('--port <n>', 'port a service exposes (repeatable)', collect)
    .option('--sealed-file <path>', 'sealed inputs and secrets (at most 4096 bytes, already sealed to the workers)')
    .option(
      '--input <KEY=VALUE>',
      "a parameter for the workload's environment (repeatable, e.g. SIZE=256): sealed like a secret, but the worker may record it",
      collect,
    )
    .option(
      '--secret <KEY=VALUE>',
      'a secret for the workload (repeatable): sealed to every worker that could serve the task; only the winner opens it',
      collect,
    )
    .option('--bid-window <blocks>', 'blocks the task takes bids before the best are leased', '10')
    .option('--retries <n>', 'times a slot nobody took (or whose worker failed) is offered again', '0');
}

export interface TaskFlags {
  app?: string;
  image?: string;
  cpu: string;
  memory: string;
  disk: string;
  bandwidth: string;
  gpus: string;
  gpuModel?: string;
  gpuMemory: string;
  runtime: string;
  region?: string;
  minRating: string;
  maxPrice: string;
  maxHours: string;
  replicas: string;
  redundancy: string;
  kind: string;
  port?: string[];
  sealedFile?: string;
  secret?: string[];
  input?: string[];
  bidWindow: string;
  retries: string;
}

/** What the matcher looks at: the needs of one replica (every field set) and the max price. */
export function quoteRequest(o: TaskFlags): Required<QuoteRequest> {
  return {
    cpuMillis: parseCores(o.cpu),
    memoryMiB: parseMiB(o.memory, '--memory'),
    diskMiB: parseMiB(o.disk, '--disk'),
    bandwidthMbps: wholeNumber('--bandwidth')(o.bandwidth),
    gpuCount: wholeNumber('--gpus')(o.gpus),
    gpuModel: o.gpuModel ?? '',
    gpuMemoryMiB: parseMiB(o.gpuMemory, '--gpu-memory'),
    runtime: parseRuntime(o.runtime),
    region: o.region ?? '',
    minRating: wholeNumber('--min-rating', 1000)(o.minRating),
    maxPricePerHour: parseZnc(o.maxPrice).toString(),
  };
}

/** The PostTask payload; `version` is the app version already resolved (empty for a raw image). */
export function postTaskPayload(o: TaskFlags, app: string, version: string): Payload<typeof TxKind.PostTask> {
  if (o.kind !== 'batch' && o.kind !== 'service') throw new Error(`--kind is batch or service, got "${o.kind}"`);
  const { maxPricePerHour, ...needs } = quoteRequest(o);
  const sealed = o.sealedFile ? new Uint8Array(readFileSync(o.sealedFile)) : new Uint8Array(0);
  return {
    ...needs,
    app,
    version,
    image: o.image ?? '',
    replicas: wholeNumber('--replicas')(o.replicas),
    kind: o.kind === 'service' ? TaskKind.Service : TaskKind.Batch,
    maxPricePerHour: BigInt(maxPricePerHour),
    maxHours: wholeNumber('--max-hours')(o.maxHours),
    redundancy: wholeNumber('--redundancy')(o.redundancy),
    ports: (o.port ?? []).map((p) => wholeNumber('--port', 65_535)(p)),
    sealed,
    bidWindowBlocks: wholeNumber('--bid-window')(o.bidWindow),
    retries: wholeNumber('--retries')(o.retries),
  };
}

/** How a task's needs read: "2 cores, 4096 MiB, 1× A100 ≥ 40960 MiB, docker". */
export function needsText(n: TaskNeedsAnswer): string {
  const parts = [`${n.cpuMillis / 1000} cores`, `${n.memoryMiB} MiB memory`];
  if (n.diskMiB) parts.push(`${n.diskMiB} MiB disk`);
  if (n.bandwidthMbps) parts.push(`${n.bandwidthMbps} Mbit/s`);
  if (n.gpuCount) parts.push(`${n.gpuCount}× ${n.gpuModel || 'any GPU'}${n.gpuMemoryMiB ? ` ≥ ${n.gpuMemoryMiB} MiB` : ''}`);
  parts.push(n.runtime);
  if (n.region) parts.push(`region ${n.region}`);
  if (n.minRating) parts.push(`rating ≥ ${n.minRating}`);
  return parts.join(', ');
}

/** The registered spec of a worker as the API shows it, to update only what flags change. */
export function specOfWorker(w: WorkerAnswer): WorkerSpec {
  return {
    cpuMillis: w.cpuMillis,
    memoryMiB: w.memoryMiB,
    diskMiB: w.diskMiB,
    bandwidthMbps: w.bandwidthMbps,
    gpus: w.gpus.map((x) => ({ ...x })),
    runtimes: [...w.runtimes],
    region: w.region,
    endpoint: w.endpoint,
    sealKey: parseKeyHex(w.sealKey, 'seal key'),
    priceCpuCoreHour: BigInt(w.prices.cpuCoreHour),
    priceMemoryGiBHour: BigInt(w.prices.memoryGiBHour),
    priceGpuHour: BigInt(w.prices.gpuHour),
  };
}

/** What a worker registers with when a flag is not given. */
export const DEFAULT_WORKER_SPEC: WorkerSpec = {
  cpuMillis: 0,
  memoryMiB: 0,
  diskMiB: 0,
  bandwidthMbps: 0,
  gpus: [],
  runtimes: ['docker'],
  region: '',
  endpoint: '',
  sealKey: new Uint8Array(32),
  priceCpuCoreHour: 0n,
  priceMemoryGiBHour: 0n,
  priceGpuHour: 0n,
};
