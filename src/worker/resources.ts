import { statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { WorkerOffer } from '../market/index.ts';
import type { WorkerAnswer } from '../sdk/index.ts';
import type { WorkerPolicy } from './policy.ts';

// What this machine can offer, and the registration that offers it. GPUs (nvidia-smi) and the
// benchmark are not detected yet: the worker registers none and the CLI's default benchmark.

export interface DetectedResources {
  cpuMillis: number;
  memoryMiB: number;
  /** Free space where the worker keeps its files (Docker's own disk is not measured). */
  diskMiB: number;
}

const MIB = 1024 * 1024;

export function detectResources(dir: string): DetectedResources {
  const fs = statfsSync(dir);
  return {
    cpuMillis: availableParallelism() * 1000,
    memoryMiB: Math.floor(totalmem() / MIB),
    // Whole GiB: free space moves all the time, and every MiB of it would be a new UpdateWorker.
    diskMiB: Math.floor((Number(fs.bavail) * Number(fs.bsize)) / (1024 * MIB)) * 1024,
  };
}

/** The resource and price part of a registration: detected, capped by the policy. */
export interface OfferedSpec {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  region: string;
  endpoint: string;
  runtimes: string[];
  priceCpuCoreHour: bigint;
  priceMemoryGiBHour: bigint;
  priceGpuHour: bigint;
}

/** Defaults when neither the policy nor an earlier registration names a price. */
const DEFAULT_PRICES = { cpuCoreHour: 10_000_000n, memoryGiBHour: 1_000_000n, gpuHour: 100_000_000n };

export function offeredSpec(d: DetectedResources, p: WorkerPolicy, node: string, runtimes: readonly string[], registered?: WorkerAnswer): OfferedSpec {
  const cap = (has: number, max: number | undefined): number => (max === undefined ? has : Math.min(has, max));
  const price = (k: keyof typeof DEFAULT_PRICES): bigint => p.prices[k] ?? (registered ? BigInt(registered.prices[k]) : DEFAULT_PRICES[k]);
  return {
    cpuMillis: cap(d.cpuMillis, p.maxCpuMillis),
    memoryMiB: cap(d.memoryMiB, p.maxMemoryMiB),
    diskMiB: cap(d.diskMiB, p.maxDiskMiB),
    region: p.region ?? registered?.region ?? '',
    // The chain wants somewhere to reach the worker; beside its node, the node's API is that place.
    endpoint: p.endpoint ?? (registered?.endpoint || new URL(node).host),
    runtimes: [...runtimes],
    priceCpuCoreHour: price('cpuCoreHour'),
    priceMemoryGiBHour: price('memoryGiBHour'),
    priceGpuHour: price('gpuHour'),
  };
}

/** Whether the chain already records this offer (so no UpdateWorker is needed). */
export function sameOffer(s: OfferedSpec, w: WorkerAnswer): boolean {
  return (
    s.cpuMillis === w.cpuMillis &&
    s.memoryMiB === w.memoryMiB &&
    s.diskMiB === w.diskMiB &&
    s.region === w.region &&
    s.endpoint === w.endpoint &&
    s.runtimes.join(',') === w.runtimes.join(',') &&
    s.priceCpuCoreHour === BigInt(w.prices.cpuCoreHour) &&
    s.priceMemoryGiBHour === BigInt(w.prices.memoryGiBHour) &&
    s.priceGpuHour === BigInt(w.prices.gpuHour)
  );
}

/** The matcher's view of a registered worker (the API answers addresses as znc1…; the matcher only compares them). */
export function offerOf(w: WorkerAnswer): WorkerOffer {
  return {
    worker: w.address,
    cpuMillis: w.cpuMillis,
    memoryMiB: w.memoryMiB,
    diskMiB: w.diskMiB,
    bandwidthMbps: w.bandwidthMbps,
    gpus: w.gpus.map((g) => ({ ...g })),
    runtimes: [...w.runtimes],
    region: w.region,
    priceCpuCoreHour: BigInt(w.prices.cpuCoreHour),
    priceMemoryGiBHour: BigInt(w.prices.memoryGiBHour),
    priceGpuHour: BigInt(w.prices.gpuHour),
    rating: w.rating,
    active: w.active,
  };
}
