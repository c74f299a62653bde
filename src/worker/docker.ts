import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { newDockerClient } from '../ddn/index.ts';
import { unpackArchive } from './canonicalResult.ts';
import { dockerLogConfig, LogCapture } from './dockerLogs.ts';
import { DEFAULT_LOG_CAP_BYTES, type LogCounts, type LogProgress, type LogTarget } from './leaseLog.ts';
import { DEFAULT_SCRATCH_MIB, ScratchAreas } from './scratch.ts';
import type { ResultFiles, StatsSample, Workload, WorkloadExit } from './workload.ts';
import { gpuHostConfig } from './gpu.ts';
import { endpointEntry } from './policy.ts';

// The docker runtime: one container per lease, locked down (the lease's cpu and memory, a pids
// limit, every capability dropped, no-new-privileges, a read-only root with a small tmpfs /tmp
// and a size-capped volume for /out (scratch.ts), no host mounts, no network for batch), labelled with the lease
// so a restarted worker can find what it started. Metering reads the engine's own statistics.
// Its output goes into the lease's capped log as it comes (dockerLogs.ts), and the engine's own
// log of it is capped too (json-file, max-size and max-file), so neither the agent's memory nor
// the host's disk depends on what a workload prints.
// A service gets the bridge network only to publish its ports, on the configured bind address.

/** Whether a Docker engine answers (within `timeoutMs` when given): the worker's runtimes depend on it. */

export async function dockerAnswers(timeoutMs?: number): Promise<boolean> {
  const ping = newDockerClient()
    .ping()
    .then(
      () => true,
      () => false,
    );
  if (timeoutMs === undefined) return ping;
  const late = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  return Promise.race([ping, late]);
}

export const LABEL_TASK = 'net.zeus.task';
export const LABEL_LEASE = 'net.zeus.lease';
export const LABEL_WORKER = 'net.zeus.worker';

export interface LeaseRef {
  task: string;
  lease: number;
  worker: string;
}

export interface BatchLimits {
  cpuMillis: number;
  memoryMiB: number;
  /** GPUs the lease asked for, given through the NVIDIA runtime (src/worker/gpu.ts). */
  gpuCount?: number;
  /** The cap on a batch lease's /out (default DEFAULT_SCRATCH_MIB). */
  diskMiB?: number;
}

export interface RuntimeOptions {
  /** Where /out's file systems are kept (the worker's home; default a directory under the system's temp). */
  scratchDir?: string;
  log?: (line: string) => void;
  /** false: /out never gets a loop device, only the watchdog (see scratch.ts). */
  loopScratch?: boolean;
}

/** What a lease's container is started with besides its image and limits. */
export interface LaunchOptions {
  /** Environment: the sealed secrets the worker opened for this lease. */
  env?: Record<string, string>;
  /** A service's container ports, published on `bindAddress` at ports the engine picks. */
  ports?: number[];
  bindAddress?: string;
  /** The host written into the endpoint instead of the address the engine published on. */
  announceAddress?: string;
}

/** Enough for a shell pipeline, not for a fork bomb. */
export const PIDS_LIMIT = 256;
/** Scratch space: a size-capped tmpfs. */
export const TMPFS = { '/tmp': 'rw,nosuid,nodev,size=64m' };

/** `out`: the lease's scratch volume for /out (an anonymous volume when empty); `logCapBytes`: the lease log's cap. */
export function hostConfigFor(l: BatchLimits, out = '', logCapBytes = DEFAULT_LOG_CAP_BYTES): Docker.HostConfig {
  const memory = l.memoryMiB * 1024 * 1024;
  return {
    NanoCpus: l.cpuMillis * 1_000_000,
    Memory: memory,
    // Equal to Memory: no swap on top of the lease's memory.
    MemorySwap: memory,
    PidsLimit: PIDS_LIMIT,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    ReadonlyRootfs: true,
    Tmpfs: { ...TMPFS },
    // /out must outlive the process: a tmpfs is unmounted (and emptied) when the container
    // stops, before its archive can be read. A volume survives the exit; the lease's own
    // size-capped one (scratch.ts) is removed with the container by `remove`.
    Mounts: [{ Type: 'volume', Source: out, Target: '/out' }],
    NetworkMode: 'none',
    Binds: [],
    Privileged: false,
    // A small init (the engine's docker-init) as PID 1: an app that is PID 1 itself gets no default
    // signal handlers, so a stop would wait out its grace period, and its orphans would go unreaped.
    Init: true,
    // The engine's own log of the output, bounded on the host's disk (its default json-file grows
    // without limit: 1.1 GB for a workload that printed 1 GiB).
    LogConfig: dockerLogConfig(logCapBytes),
    ...gpuHostConfig(l.gpuCount),
  };
}

/** Where the engine published a service's ports, in the order of `ports`: `host:port,…`. */
function endpointOf(info: Docker.ContainerInspectInfo, ports: readonly number[], announceAddress: string | undefined): string {
  const bound = info.NetworkSettings.Ports ?? {};
  return ports
    .map((p) => {
      const b = bound[`${p}/tcp`]?.[0];
      if (!b) throw new Error(`the engine published no host port for container port ${p}`);
      return endpointEntry(announceAddress ?? b.HostIp, b.HostPort);
    })
    .join(',');
}

export class DockerRuntime {
  readonly docker: Docker;
  readonly scratch: ScratchAreas;

  constructor(docker: Docker = newDockerClient(), o: RuntimeOptions = {}) {
    this.docker = docker;
    this.scratch = new ScratchAreas(docker, { dir: o.scratchDir ?? join(tmpdir(), 'zeus-scratch'), log: o.log ?? (() => undefined), loop: o.loopScratch });
  }

  /** Starts a lease's container (a batch job, or a service when `o.ports` is given), its output going into `log`. */
  async start(image: string, ref: LeaseRef, limits: BatchLimits, log: LogTarget, o: LaunchOptions = {}): Promise<Workload> {
    const service = o.ports !== undefined;
    // A batch lease's /out: its own size-capped area, removed with the container (remove()).
    const out = service ? undefined : await this.scratch.create(ref, limits.diskMiB ?? DEFAULT_SCRATCH_MIB);
    const host = hostConfigFor(limits, out?.volume, log.capBytes);
    const ports = o.ports ?? [];
    if (service) {
      host.NetworkMode = 'bridge';
      // A service keeps no result: no /out volume to leave behind.
      host.Mounts = [];
      host.PortBindings = Object.fromEntries(ports.map((p) => [`${p}/tcp`, [{ HostIp: o.bindAddress ?? '127.0.0.1', HostPort: '' }]]));
    }
    const c = await this.docker
      .createContainer({
        Image: image,
        name: `zeus-${ref.task.slice(0, 16)}-${ref.lease}`,
        Labels: { [LABEL_TASK]: ref.task, [LABEL_LEASE]: String(ref.lease), [LABEL_WORKER]: ref.worker },
        Env: Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
        ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])),
        HostConfig: host,
        NetworkDisabled: !service,
      })
      .catch(async (e: unknown) => {
        if (out) await this.scratch.remove(out.volume);
        throw e;
      });
    try {
      // Attached before it starts: its output from the first byte.
      const capture = await LogCapture.fromStart(c, log);
      await c.start();
      const info = await c.inspect();
      await this.scratch.watchMounted(info.Mounts, c);
      return new DockerWorkload(this, c, ports.length ? endpointOf(info, ports, o.announceAddress) : '', capture);
    } catch (e) {
      await this.remove(c);
      throw e;
    }
  }

  /** The workload of a container an earlier agent process started; its output goes on into `log`. */
  async attach(id: string, ports: readonly number[], log: LogTarget, announceAddress?: string): Promise<Workload> {
    const c = this.docker.getContainer(id);
    const info = await c.inspect();
    await this.scratch.watchMounted(info.Mounts, c);
    const capture = await LogCapture.resumed(c, info.State.Running, log);
    return new DockerWorkload(this, c, ports.length ? endpointOf(info, ports, announceAddress) : '', capture);
  }

  /** One-shot stats (stream=false); undefined once the container has stopped. */
  async sample(c: Docker.Container): Promise<StatsSample | undefined> {
    const s = (await c.stats({ stream: false, 'one-shot': true })) as {
      cpu_stats?: { cpu_usage?: { total_usage?: number } };
      memory_stats?: { usage?: number };
    };
    const total = s.cpu_stats?.cpu_usage?.total_usage;
    if (!total) return undefined;
    return { cpuNanos: BigInt(total), memoryBytes: s.memory_stats?.usage ?? 0 };
  }

  /** `/out` of a stopped container, unpacked from the engine's archive into `into` (canonicalResult.ts's rules). */
  async unpackOut(c: Docker.Container, into: string, limitBytes: number): Promise<ResultFiles> {
    const stream = (await c.getArchive({ path: '/out' })) as unknown as Readable;
    return { dir: into, dropped: await unpackArchive(stream, into, limitBytes) };
  }

  /** Containers this worker started (running or not), by their labels. */
  async ofWorker(worker: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: [`${LABEL_WORKER}=${worker}`] } });
  }

  /** At the agent's start: scratch areas (volumes, loop devices, files) no container uses any more. */
  sweepScratch(worker: string): Promise<string[]> {
    return this.scratch.sweep(worker);
  }

  /** The container, then its scratch area (a named volume outlives its container). */
  async remove(c: Docker.Container): Promise<void> {
    const mounts = await c.inspect().then(
      (i) => i.Mounts,
      () => [],
    );
    await c.remove({ force: true, v: true }).catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 404) throw e;
    });
    await this.scratch.removeMounted(mounts);
  }
}

/** A lease's container, as the lease loop drives it. */
class DockerWorkload implements Workload {
  readonly id: string;
  readonly endpoint: string;
  readonly exited: Promise<WorkloadExit>;
  private readonly rt: DockerRuntime;
  private readonly c: Docker.Container;
  private readonly capture: LogCapture;

  constructor(rt: DockerRuntime, c: Docker.Container, endpoint: string, capture: LogCapture) {
    this.rt = rt;
    this.c = c;
    this.id = c.id;
    this.endpoint = endpoint;
    this.capture = capture;
    // wait() answers at once for a container that has already stopped, so this also serves one
    // that ended while no agent was watching it.
    const waited = c.wait() as Promise<{ StatusCode: number }>;
    void waited.then(
      () => capture.containerExited(),
      () => capture.containerExited(),
    );
    this.exited = waited.then(async ({ StatusCode }) => {
      const state = await c
        .inspect()
        .then((i) => i.State)
        .catch(() => undefined);
      if (state?.OOMKilled) return { code: null, reason: 'killed: out of memory', cause: 'memory' as const };
      return { code: StatusCode };
    });
  }

  sample(): Promise<StatsSample | undefined> {
    return this.rt.sample(this.c).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.c.stop({ t: 5 }).catch((e: { statusCode?: number }) => {
      // 304: already stopped; 404: already gone.
      if (e.statusCode !== 304 && e.statusCode !== 404) throw e;
    });
  }

  logsDone(): Promise<LogCounts> {
    return this.capture.done;
  }

  logCounts(): LogProgress {
    return this.capture.counts();
  }

  resultFiles(staging: string, limitBytes: number): Promise<ResultFiles> {
    return this.rt.unpackOut(this.c, staging, limitBytes);
  }

  remove(): Promise<void> {
    return this.rt.remove(this.c);
  }
}
