import { spawnSync } from 'node:child_process';
import type Docker from 'dockerode';
import type { Gpu } from '../ledger/index.ts';

// NVIDIA GPUs: what the machine has (through `nvidia-smi`, the one tool every NVIDIA driver
// install ships), and how a container gets them (the NVIDIA container runtime, asked for through
// the engine's DeviceRequests). Machines without the driver have no `nvidia-smi`: they offer none.

/** The query the worker runs: one CSV line per GPU, name and total memory in MiB. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'] as const;

/** The chain's GPU model field holds at most 32 characters. */
const MODEL_MAX = 32;
/** Vendor and brand words that say nothing a task poster writes in --gpu-model. */
const BRAND_WORDS = new Set(['nvidia', 'tesla', 'geforce', 'quadro']);
/** Series words that only make sense with the word after them ("RTX 4090", "TITAN V"). */
const SERIES_WORDS = new Set(['rtx', 'gtx', 'titan']);

/**
 * The model name the market compares: the matcher matches `--gpu-model` by name (case-insensitive),
 * and posters write "A100" or "RTX 4090", not "NVIDIA A100-SXM4-40GB". So: drop the vendor and
 * brand words, then keep the first word up to its form-factor suffix (A100-SXM4-40GB → A100),
 * with the next word when the first is only a series (RTX 4090, RTX A6000).
 */
export function gpuModelName(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '' && !BRAND_WORDS.has(w.toLowerCase()));
  if (words.length === 0) return name.trim().slice(0, MODEL_MAX);
  const first = words[0].split('-')[0];
  const model = SERIES_WORDS.has(first.toLowerCase()) && words.length > 1 ? `${first} ${words[1].split('-')[0]}` : first;
  return model.slice(0, MODEL_MAX);
}

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` output
 * ("NVIDIA A100-SXM4-40GB, 40960" per line) into the chain's GPU entries: one per model and memory
 * size, with a count. Lines that do not parse (a driver's "[N/A]", an error text) are skipped.
 */
export function parseNvidiaSmi(out: string): Gpu[] {
  const byKind = new Map<string, Gpu>();
  for (const line of out.split(/\r?\n/)) {
    const comma = line.lastIndexOf(',');
    if (comma <= 0) continue;
    const name = line.slice(0, comma).trim();
    const memory = line.slice(comma + 1).trim();
    if (name === '' || !/^\d+$/.test(memory)) continue;
    const model = gpuModelName(name);
    const memoryMiB = Number(memory);
    const k = `${model}\0${memoryMiB}`;
    const seen = byKind.get(k);
    if (seen) seen.count += 1;
    else byKind.set(k, { model, memoryMiB, count: 1 });
  }
  return [...byKind.values()];
}

/** GPUs seen by `nvidia-smi` on PATH; none when it is missing or fails (no driver, no GPU). */
export function detectGpus(warn: (line: string) => void = () => undefined): Gpu[] {
  const r = spawnSync('nvidia-smi', [...NVIDIA_SMI_ARGS], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`nvidia-smi could not run: ${r.error.message}; offering no GPUs`);
    return [];
  }
  if (r.status !== 0) {
    warn(`nvidia-smi exited ${r.status}: ${r.stderr.trim().slice(0, 200)}; offering no GPUs`);
    return [];
  }
  return parseNvidiaSmi(r.stdout);
}

/**
 * What a container's host config adds for a lease that asks for GPUs: that many devices through
 * the NVIDIA container runtime (`docker run --gpus N`). Nothing for a lease without GPUs, so
 * engines without the NVIDIA runtime keep running every other task.
 */
export function gpuHostConfig(gpuCount: number | undefined): Pick<Docker.HostConfig, 'DeviceRequests'> {
  if (!gpuCount) return {};
  return { DeviceRequests: [{ Driver: 'nvidia', Count: gpuCount, Capabilities: [['gpu']] }] };
}
