import { statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { Gpu } from '../ledger/index.ts';
import type { WorkerOffer } from '../market/index.ts';
import { offerOfWorker, type WorkerAnswer } from '../sdk/index.ts';
import { detectGpus } from './gpu.ts';
import type { WorkerPolicy } from './policy.ts';

// What this machine can offer, and the registration that offers it: cores, memory, free disk and
// NVIDIA GPUs (src/worker/gpu.ts). The benchmark is src/worker/benchmark.ts.

export interface DetectedResources {
  cpuMillis: number;
  memoryMiB: number;
  /** Free space where the worker keeps its files (Docker's own disk is not measured). */
  diskMiB: number;
  /** NVIDIA GPUs by model and memory, from nvidia-smi; none without the driver. */
  gpus: Gpu[];
}

const MIB = 1024 * 1024;

export function detectResources(dir: string, warn?: (line: string) => void): DetectedResources {
  const fs = statfsSync(dir);
  return {
    cpuMillis: availableParallelism() * 1000,
    memoryMiB: Math.floor(totalmem() / MIB),
    // Whole GiB: free space moves all the time, and every MiB of it would be a new UpdateWorker.
    diskMiB: Math.floor((Number(fs.bavail) * Number(fs.bsize)) / (1024 * MIB)) * 1024,
    gpus: detectGpus(warn),
  };
}

/** The resource and price part of a registration: detected, capped by the policy. */
export interface OfferedSpec {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  gpus: Gpu[];
  region: string;
  endpoint: string;
  runtimes: string[];
  priceCpuCoreHour: bigint;
  priceMemoryGiBHour: bigint;
  priceGpuHour: bigint;
}

/** Defaults when neither the policy nor an earlier registration names a price. */
const DEFAULT_PRICES = { cpuCoreHour: 10_000_000n, memoryGiBHour: 1_000_000n, gpuHour: 100_000_000n };

/**
 * What the worker offers. `node` is the URL the agent follows its node at; `announced` the API URL
 * that node tells the network it is reached at (absent on a node outside a network). The chain's
 * endpoint for the worker is where users fetch its results and logs from (`zeus task result`), so
 * the announced URL wins: the agent often reaches its node at 127.0.0.1 or at a private address that
 * means nothing to anyone else (deploy/systemd/zeus-worker.service follows http://127.0.0.1:26657).
 */
export function offeredSpec(
  d: DetectedResources,
  p: WorkerPolicy,
  node: string,
  runtimes: readonly string[],
  registered?: WorkerAnswer,
  announced?: string,
): OfferedSpec {
  const cap = (has: number, max: number | undefined): number => (max === undefined ? has : Math.min(has, max));
  const price = (k: keyof typeof DEFAULT_PRICES): bigint => p.prices[k] ?? (registered ? BigInt(registered.prices[k]) : DEFAULT_PRICES[k]);
  return {
    cpuMillis: cap(d.cpuMillis, p.maxCpuMillis),
    memoryMiB: cap(d.memoryMiB, p.maxMemoryMiB),
    diskMiB: cap(d.diskMiB, p.maxDiskMiB),
    gpus: p.offerGpus ? d.gpus.map((g) => ({ ...g })) : [],
    region: p.region ?? registered?.region ?? '',
    // The chain wants somewhere to reach the worker; beside its node, the node's API is that place.
    endpoint: p.endpoint ?? (registered?.endpoint || new URL(announced ?? node).host),
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
    JSON.stringify(s.gpus.map((g) => [g.model, g.memoryMiB, g.count])) === JSON.stringify(w.gpus.map((g) => [g.model, g.memoryMiB, g.count])) &&
    s.region === w.region &&
    s.endpoint === w.endpoint &&
    s.runtimes.join(',') === w.runtimes.join(',') &&
    s.priceCpuCoreHour === BigInt(w.prices.cpuCoreHour) &&
    s.priceMemoryGiBHour === BigInt(w.prices.memoryGiBHour) &&
    s.priceGpuHour === BigInt(w.prices.gpuHour)
  );
}

/** The matcher's view of a registered worker (the SDK's, which the quotes use too). */
export function offerOf(w: WorkerAnswer): WorkerOffer {
  return offerOfWorker(w);
}
