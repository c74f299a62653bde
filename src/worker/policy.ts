import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseAmount } from '../sdk/index.ts';
import { ZNC_DECIMALS } from '../ledger/index.ts';

// What the operator lets the worker offer and how it prices it. Everything is optional: without
// a policy the worker offers what it detects, at its registered prices, one lease at a time.
// Prices are decimal ZNC strings (as people write them), turned into base units here once.

/** A lease's log keeps this much of its output unless the policy says otherwise. */
export const DEFAULT_LOG_MIB = 8;
/** The most a policy may let a lease's log keep (the agent reads a log whole only up to the published size). */
export const MAX_LOG_MIB = 256;
/** A service's endpoint on the chain holds at most this many characters (StartLease's `endpoint`). */
export const ENDPOINT_MAX_CHARS = 128;
/** An announced host name's limit: with it, at least two ports still fit in an endpoint. */
const MAX_ANNOUNCE_CHARS = 56;

const zncAmount = z.string().regex(/^\d+(\.\d{1,8})?$/, 'a ZNC amount like "0.1" (at most 8 decimals)');

export const PolicySchema = z
  .object({
    /** Caps on what is offered; the smaller of this and what the machine has is registered. */
    maxCpuCores: z.number().positive().optional(),
    maxMemoryMiB: z.number().int().positive().optional(),
    maxDiskMiB: z.number().int().nonnegative().optional(),
    prices: z
      .object({
        cpuCoreHour: zncAmount.optional(),
        memoryGiBHour: zncAmount.optional(),
        gpuHour: zncAmount.optional(),
        /** Per GPU model (as nvidia-smi names it, compared case-insensitively), over gpuHour. */
        gpuHourByModel: z.record(z.string().min(1).max(32), zncAmount).optional(),
      })
      .strict()
      .optional(),
    /** No bid below this per hour, whatever the resources would cost. */
    minPricePerHour: zncAmount.optional(),
    maxConcurrentLeases: z.number().int().positive().optional(),
    /** App names to accept (absent: all). */
    acceptApps: z.array(z.string()).optional(),
    /** Developer addresses (znc1…) to accept (absent: all). */
    acceptDevelopers: z.array(z.string()).optional(),
    /** App names and developer addresses never to run, whatever the accept lists say. */
    refuseApps: z.array(z.string()).optional(),
    refuseDevelopers: z.array(z.string()).optional(),
    region: z.string().max(32).optional(),
    /** Where the worker can be reached (host:port); default: the host and port of its node's API. */
    endpoint: z.string().min(1).max(128).optional(),
    /** Address services' ports are published on (default 127.0.0.1: reachable from this machine only). */
    bindAddress: z.union([z.ipv4(), z.ipv6()]).optional(),
    /**
     * The address users reach services at, when it is not `bindAddress`: a public address in front
     * of a private one (NAT, a load balancer), or the machine's address when binding 0.0.0.0.
     */
    announceAddress: z.union([z.ipv4(), z.ipv6(), z.hostname().max(MAX_ANNOUNCE_CHARS)]).optional(),
    /** Whether the GPUs nvidia-smi reports are offered (default: yes); false keeps them for the owner. */
    offerGpus: z.boolean().optional(),
    /** Port of the admin endpoint on 127.0.0.1 (`zeus worker status`); 0 or absent: any free port. */
    adminPort: z.number().int().min(0).max(65535).optional(),
    /**
     * How much of a lease's output (stdout and stderr) its log keeps, in MiB: what the workload
     * prints past it is counted and dropped. Docker's own log of the container is capped to twice it.
     */
    maxLogMiB: z.number().int().min(1).max(MAX_LOG_MIB).optional(),
  })
  .strict()
  .refine((p) => p.announceAddress !== undefined || (p.bindAddress !== '0.0.0.0' && p.bindAddress !== '::'), {
    message: 'a bindAddress of every interface (0.0.0.0 or ::) needs an announceAddress: the chain must record an address users can reach',
    path: ['announceAddress'],
  });

export type PolicyFile = z.infer<typeof PolicySchema>;

/** The policy in the units the agent works in. */
export interface WorkerPolicy {
  maxCpuMillis?: number;
  maxMemoryMiB?: number;
  maxDiskMiB?: number;
  prices: { cpuCoreHour?: bigint; memoryGiBHour?: bigint; gpuHour?: bigint };
  /** GPU-hour prices by lower-cased model. */
  gpuHourByModel: Record<string, bigint>;
  minPricePerHour: bigint;
  maxConcurrentLeases: number;
  acceptApps?: string[];
  acceptDevelopers?: string[];
  refuseApps: string[];
  refuseDevelopers: string[];
  region?: string;
  endpoint?: string;
  bindAddress: string;
  /** What goes on the chain as a service's host; absent: the address the engine published on. */
  announceAddress?: string;
  offerGpus: boolean;
  adminPort?: number;
  /** Bytes of a lease's output its log keeps. */
  logCapBytes: number;
}

export function policyFrom(p: PolicyFile): WorkerPolicy {
  const znc = (s: string | undefined): bigint | undefined => (s === undefined ? undefined : parseAmount(s, ZNC_DECIMALS));
  return {
    maxCpuMillis: p.maxCpuCores === undefined ? undefined : Math.floor(p.maxCpuCores * 1000),
    maxMemoryMiB: p.maxMemoryMiB,
    maxDiskMiB: p.maxDiskMiB,
    prices: { cpuCoreHour: znc(p.prices?.cpuCoreHour), memoryGiBHour: znc(p.prices?.memoryGiBHour), gpuHour: znc(p.prices?.gpuHour) },
    gpuHourByModel: Object.fromEntries(Object.entries(p.prices?.gpuHourByModel ?? {}).map(([m, v]) => [m.toLowerCase(), parseAmount(v, ZNC_DECIMALS)])),
    minPricePerHour: znc(p.minPricePerHour) ?? 0n,
    maxConcurrentLeases: p.maxConcurrentLeases ?? 1,
    acceptApps: p.acceptApps,
    acceptDevelopers: p.acceptDevelopers,
    refuseApps: p.refuseApps ?? [],
    refuseDevelopers: p.refuseDevelopers ?? [],
    region: p.region,
    endpoint: p.endpoint,
    bindAddress: p.bindAddress ?? '127.0.0.1',
    announceAddress: p.announceAddress,
    offerGpus: p.offerGpus ?? true,
    adminPort: p.adminPort,
    logCapBytes: (p.maxLogMiB ?? DEFAULT_LOG_MIB) * 1024 * 1024,
  };
}

/** `host:port` as it goes on the chain (an IPv6 host in brackets). */
export function endpointEntry(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * How many ports a service may publish through this worker: as many `host:port` entries as fit
 * in the chain's endpoint (5 with an IPv4 host), so a lease it wins can always be started.
 */
export function maxServicePorts(p: Pick<WorkerPolicy, 'bindAddress' | 'announceAddress'>): number {
  const entry = endpointEntry(p.announceAddress ?? p.bindAddress, 65535).length;
  return Math.min(5, Math.floor((ENDPOINT_MAX_CHARS + 1) / (entry + 1)));
}

export class PolicyError extends Error {
  override name = 'PolicyError';
}

/**
 * What the worker bids per hour on a task: its ask (`ask`, from its registered prices), with the
 * GPU-hour price of the task's model when the policy names one, and never below the minimum.
 */
export function bidPrice(p: WorkerPolicy, ask: bigint, needs: { gpuCount: number; gpuModel: string }, registeredGpuHour: bigint): bigint {
  const byModel = p.gpuHourByModel[needs.gpuModel.toLowerCase()];
  const price = byModel === undefined ? ask : ask - BigInt(needs.gpuCount) * registeredGpuHour + BigInt(needs.gpuCount) * byModel;
  return price > p.minPricePerHour ? price : p.minPricePerHour;
}

/** Why the policy refuses a task's app or developer, or undefined when it accepts them. */
export function policyRefusal(p: WorkerPolicy, app: string, developer: string | undefined): string | undefined {
  if (p.refuseApps.includes(app)) return `app ${app} is refused by the policy`;
  if (developer && p.refuseDevelopers.includes(developer)) return `developer ${developer} is refused by the policy`;
  if (p.acceptApps && !p.acceptApps.includes(app)) return `app ${app} is not accepted by the policy`;
  if (p.acceptDevelopers && (!developer || !p.acceptDevelopers.includes(developer))) return `developer ${developer ?? 'none'} is not accepted by the policy`;
  return undefined;
}

/** Reads and checks a policy file; a bad one stops the worker with every problem listed. */
export function loadPolicy(file: string | undefined): WorkerPolicy {
  if (file === undefined) return policyFrom({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PolicyError(`cannot read the policy file ${file}: ${(e as Error).message}`);
  }
  const r = PolicySchema.safeParse(raw);
  if (!r.success)
    throw new PolicyError(`policy file ${file} is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return policyFrom(r.data);
}
