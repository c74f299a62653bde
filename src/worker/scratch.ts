import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { DEFAULT_RESULT_MIB, resultLimitMiB } from '../market/index.ts';

// A batch lease's /out with a real size cap. /out must outlive the container (its archive is
// read after the exit, and a tmpfs is emptied at the stop), and an engine volume on overlay2
// has no size limit without xfs project quotas. So each lease gets its own small ext4 file
// system: a sparse file, mkfs.ext4, a loop device, mounted by the engine's local volume driver
// (type=ext4, device=/dev/loopN). Writes past its size fail with ENOSPC inside the container,
// and the host's disk is never at risk. The volume, the loop device and the file go with the
// lease; what a crash leaves behind is found again by label and by file name.
//
// Where no loop device can be had (no root, no /dev/loop-control, a container without the
// device, missing e2fsprogs), /out falls back to a plain volume that a watchdog measures every
// second, killing the container once it holds more than the cap. That is logged once, loudly: a
// watchdog bounds the damage to about one second of writing, it does not prevent it.

const exec = promisify(execFile);
// mkfs.ext4, debugfs and losetup live in /usr/sbin, which a non-login PATH may lack.
const SBIN_PATH = [process.env.PATH ?? '', '/usr/sbin', '/sbin'].filter(Boolean).join(':');
const run = (cmd: string, args: string[]) => exec(cmd, args, { env: { ...process.env, PATH: SBIN_PATH } });

export const LABEL_SCRATCH = 'net.zeus.scratch';
/** Which file backs a capped area (so a sweep after a crash can detach its loop device). */
export const LABEL_SCRATCH_IMAGE = 'net.zeus.scratch.image';
/** The cap in MiB (what a re-attached watchdog needs to know). */
export const LABEL_SCRATCH_MIB = 'net.zeus.scratch.mib';
/** Volume names of scratch areas: `zeus-out-<task>-<lease>`. */
const PREFIX = 'zeus-out-';
/** /out for a task that names no disk (src/market/results.ts: all of /out is the result). */
export const DEFAULT_SCRATCH_MIB = DEFAULT_RESULT_MIB;
/** Below this, ext4's own metadata would leave almost nothing. */
export const MIN_SCRATCH_MIB = 8;
const WATCH_MS = 1000;

/** The cap of a lease's /out: the task's disk (or the default), bounded by the policy's disk. */
export function scratchMiB(taskDiskMiB: number, policyMaxMiB?: number): number {
  const want = resultLimitMiB(taskDiskMiB);
  return Math.max(MIN_SCRATCH_MIB, policyMaxMiB === undefined ? want : Math.min(want, policyMaxMiB));
}

export type ScratchKind = 'ext4' | 'watchdog';

export interface ScratchArea {
  volume: string;
  sizeMiB: number;
  kind: ScratchKind;
}

export interface ScratchOptions {
  /** Where the file systems' backing files live (sparse: they take what is written). */
  dir: string;
  log: (line: string) => void;
  /** false: never try a loop device (what a machine without one gets; tests use it). */
  loop?: boolean;
}

interface Owner {
  task: string;
  lease: number;
  worker: string;
}

const isMissing = (e: unknown): boolean => (e as { statusCode?: number }).statusCode === 404;

export class ScratchAreas {
  private readonly docker: Docker;
  private readonly o: ScratchOptions;
  /** Loop devices turned off by the options (otherwise each lease tries: a failure may be passing, e.g. every device busy). */
  private readonly noLoop?: string;
  private warned = false;
  /** Areas being set up: a sweep must not take them for leftovers. */
  private readonly pending = new Set<string>();
  private readonly watchers = new Map<string, NodeJS.Timeout>();

  constructor(docker: Docker, o: ScratchOptions) {
    this.docker = docker;
    this.o = o;
    if (o.loop === false) this.noLoop = 'loop devices are turned off';
  }

  static nameOf(ref: Owner): string {
    return `${PREFIX}${ref.task}-${ref.lease}`;
  }

  private imageOf(volume: string): string {
    return join(this.o.dir, `${volume}.img`);
  }

  async create(ref: Owner, sizeMiB: number): Promise<ScratchArea> {
    const volume = ScratchAreas.nameOf(ref);
    const labels = {
      [LABEL_SCRATCH]: '',
      [LABEL_SCRATCH_MIB]: String(sizeMiB),
      'net.zeus.task': ref.task,
      'net.zeus.lease': String(ref.lease),
      'net.zeus.worker': ref.worker,
    };
    this.pending.add(volume);
    try {
      // A retried start of the same lease finds the old area: start from an empty one.
      await this.remove(volume);
      if (this.noLoop === undefined) {
        try {
          const device = await this.makeFileSystem(volume, sizeMiB);
          const opts = { type: 'ext4', device, o: 'nosuid,nodev' };
          await this.docker.createVolume({
            Name: volume,
            Driver: 'local',
            DriverOpts: opts,
            Labels: { ...labels, [LABEL_SCRATCH]: 'ext4', [LABEL_SCRATCH_IMAGE]: this.imageOf(volume) },
          });
          return { volume, sizeMiB, kind: 'ext4' };
        } catch (e) {
          await this.remove(volume).catch(() => undefined);
          this.fallingBack(volume, (e as Error).message.split('\n')[0]);
        }
      } else this.fallingBack(volume, this.noLoop);
      await this.docker.createVolume({ Name: volume, Driver: 'local', Labels: { ...labels, [LABEL_SCRATCH]: 'watchdog' } });
      return { volume, sizeMiB, kind: 'watchdog' };
    } finally {
      this.pending.delete(volume);
    }
  }

  private fallingBack(volume: string, why: string): void {
    if (!this.warned) {
      this.warned = true;
      this.o.log(
        `WARNING: /out cannot be a size-capped file system here (${why}); a lease's /out is then a plain volume that a watchdog measures every ${WATCH_MS / 1000} s, killing the container past its cap`,
      );
    } else this.o.log(`${volume}: no capped file system (${why}); /out is watched instead`);
  }

  /** A sparse file with an empty ext4 on it, attached to a free loop device; its path. */
  private async makeFileSystem(volume: string, sizeMiB: number): Promise<string> {
    mkdirSync(this.o.dir, { recursive: true });
    const image = this.imageOf(volume);
    const fd = openSync(image, 'w');
    closeSync(fd);
    await run('truncate', ['-s', `${sizeMiB}M`, image]);
    // No journal (scratch needs no crash safety, and the journal would eat a small cap), no
    // reserved blocks (the app runs without CAP_SYS_RESOURCE and could not use them), nothing
    // zeroed (the file is new and sparse: it reads as zeros).
    const mkfs = (extended: string) => run('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', extended, '-L', 'zeus-out', image]);
    // assume_storage_prezeroed is e2fsprogs 1.47 (Debian 12); older ones make the same file system without it.
    await mkfs('root_owner=0:0,nodiscard,assume_storage_prezeroed=1').catch(() => mkfs('root_owner=0:0,nodiscard'));
    // mkfs makes lost+found; it would show up in every result.
    await run('debugfs', ['-w', '-R', 'rmdir lost+found', image]);
    return (await run('losetup', ['--find', '--show', image])).stdout.trim();
  }

  /** The watchdog of an uncapped area: kills `container` once /out holds more than the cap. */
  async watch(area: ScratchArea, container: Docker.Container): Promise<void> {
    if (area.kind !== 'watchdog') return;
    const dir = (await this.docker.getVolume(area.volume).inspect()).Mountpoint;
    const cap = area.sizeMiB * 1024 * 1024;
    let busy = false;
    const check = async (): Promise<void> => {
      const used = await bytesUnder(dir);
      if (used <= cap) return;
      this.stopWatching(area.volume);
      this.o.log(`/out of ${container.id.slice(0, 12)} holds ${Math.ceil(used / 1024 / 1024)} MiB, past its ${area.sizeMiB} MiB cap: killing the container`);
      await container.kill().catch(() => undefined);
    };
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      check()
        .catch((e: unknown) => {
          // The engine's volumes are not readable from here (rootless, another host): nothing to watch.
          this.stopWatching(area.volume);
          this.o.log(`WARNING: cannot measure /out of ${container.id.slice(0, 12)} at ${dir} (${(e as Error).message}); only the result size check bounds it`);
        })
        .finally(() => (busy = false));
    }, WATCH_MS);
    timer.unref();
    this.watchers.set(area.volume, timer);
  }

  /** Watches the uncapped areas among a container's mounts (one started by an earlier run, too). */
  async watchMounted(mounts: readonly { Type?: string; Name?: string }[], container: Docker.Container): Promise<void> {
    for (const m of mounts) {
      if (m.Type !== 'volume' || !m.Name?.startsWith(PREFIX) || this.watchers.has(m.Name)) continue;
      const labels = (await this.docker.getVolume(m.Name).inspect()).Labels ?? {};
      if (labels[LABEL_SCRATCH] !== 'watchdog') continue;
      await this.watch({ volume: m.Name, kind: 'watchdog', sizeMiB: Number(labels[LABEL_SCRATCH_MIB] ?? DEFAULT_SCRATCH_MIB) }, container);
    }
  }

  private stopWatching(volume: string): void {
    clearInterval(this.watchers.get(volume));
    this.watchers.delete(volume);
  }

  /** Removes the scratch areas among a (removed) container's mounts. */
  async removeMounted(mounts: readonly { Type?: string; Name?: string }[]): Promise<void> {
    for (const m of mounts) if (m.Type === 'volume' && m.Name?.startsWith(PREFIX)) await this.remove(m.Name);
  }

  /** The volume, then its loop device, then its file; each step tolerates an earlier partial removal. */
  async remove(volume: string): Promise<void> {
    this.stopWatching(volume);
    await this.docker
      .getVolume(volume)
      .remove()
      .catch((e: unknown) => {
        if (!isMissing(e)) throw e;
      });
    await this.dropImage(this.imageOf(volume));
  }

  private async dropImage(image: string): Promise<void> {
    // Every loop device on this file (a crash between losetup and a retry can leave two). A
    // device still mounted is only marked to detach at its unmount, which is what is wanted.
    const attached = await run('losetup', ['--associated', image]).then(
      (r) => r.stdout,
      () => '',
    );
    for (const line of attached.split('\n')) {
      const dev = /^(\/dev\/loop\d+):/.exec(line)?.[1];
      if (dev) await run('losetup', ['--detach', dev]);
    }
    rmSync(image, { force: true });
  }

  /**
   * At the agent's start: every scratch area of this worker that no container uses any more,
   * and every backing file without its volume, left by a run that crashed.
   */
  async sweep(worker: string): Promise<string[]> {
    const swept: string[] = [];
    const { Volumes } = await this.docker.listVolumes({ filters: { label: [LABEL_SCRATCH, `net.zeus.worker=${worker}`], dangling: ['true'] } });
    for (const v of Volumes ?? []) {
      if (this.pending.has(v.Name)) continue;
      await this.remove(v.Name);
      swept.push(v.Name);
    }
    const inUse = new Set(((await this.docker.listVolumes({ filters: { label: [LABEL_SCRATCH] } })).Volumes ?? []).map((v) => v.Name));
    let files: string[] = [];
    try {
      files = readdirSync(this.o.dir);
    } catch {
      // no directory yet: nothing left over
    }
    for (const f of files) {
      const volume = f.replace(/\.img$/, '');
      if (!f.endsWith('.img') || !volume.startsWith(PREFIX) || inUse.has(volume) || this.pending.has(volume)) continue;
      await this.dropImage(join(this.o.dir, f));
      swept.push(f);
    }
    return swept;
  }
}

/** Bytes allocated under `dir` (what `du` counts), without following links. */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += (await lstat(p)).blocks * 512;
    if (e.isDirectory()) total += await bytesUnder(p);
  }
  return total;
}
