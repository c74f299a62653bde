import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDockerd } from '../../test/helpers/docker.ts';
import { buildBusyboxImage, docker as dockerCli } from '../../test/helpers/worker.ts';
import { DockerRuntime, type LeaseRef } from './docker.ts';
import { LABEL_SCRATCH, scratchMiB } from './scratch.ts';

// The /out cap with a real engine: the lease's own ext4 stops a writer with ENOSPC at its size;
// where loop devices are off, the watchdog kills a writer past the cap; removal and the sweep at
// start leave no volume, loop device or file behind, and the sweep spares what is still in use.

const dir = mkdtempSync(join(tmpdir(), 'zeus-scratch-'));
const IMAGE = `zeus-test/scratch-filler:${process.pid}`;
const worker = `test-worker-${process.pid}`;
const docker = new Docker();
const ref = (w = worker): LeaseRef => ({ task: randomBytes(32).toString('hex'), lease: 0, worker: w });
let logs = 0;
const logTarget = () => ({ file: join(dir, `lease-${logs++}.log`), capBytes: 1024 * 1024 });
const loopsOn = (prefix: string): string[] =>
  execFileSync('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .map((f) => f.trim())
    .filter((f) => f.startsWith(prefix));
const volumeExists = (name: string): Promise<boolean> =>
  docker
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );

beforeAll(() => {
  ensureDockerd();
  // 1 MiB at a time, a little apart, up to 128 MiB: slow enough for the watchdog to see it grow.
  buildBusyboxImage(
    IMAGE,
    dir,
    'i=0; while [ $i -lt 128 ]; do dd if=/dev/zero of=/out/f$i bs=1M count=1 2>/dev/null || { echo "full after $i MiB"; exit 1; }; i=$((i+1)); sleep 0.05; done; echo "wrote $i MiB"',
  );
}, 60_000);

afterAll(() => {
  dockerCli('rmi', '-f', IMAGE);
  rmSync(dir, { recursive: true, force: true });
});

async function runToEnd(rt: DockerRuntime, r: LeaseRef, diskMiB: number): Promise<{ code: number; logs: string; c: Docker.Container }> {
  const w = await rt.start(IMAGE, r, { cpuMillis: 500, memoryMiB: 64, diskMiB }, logTarget());
  const c = docker.getContainer(w.id);
  const { StatusCode } = (await c.wait()) as { StatusCode: number };
  const logs = ((await c.logs({ stdout: true, stderr: true })) as Buffer).toString('latin1');
  return { code: StatusCode, logs, c };
}

describe('scratchMiB', () => {
  it('takes the task disk, the default without one, bounded by the policy and a floor', () => {
    expect(scratchMiB(0)).toBe(64);
    expect(scratchMiB(32)).toBe(32);
    expect(scratchMiB(5000, 1024)).toBe(1024);
    expect(scratchMiB(0, 16)).toBe(16);
    expect(scratchMiB(2)).toBe(8);
    expect(scratchMiB(0, 0)).toBe(8);
  });
});

describe('a lease /out with a real cap', () => {
  it('is an ext4 of the lease size: writes stop with ENOSPC, the archive reads, removal leaves nothing', async () => {
    const scratch = join(dir, 'ext4');
    const rt = new DockerRuntime(docker, { scratchDir: scratch });
    const r = ref();
    const { code, logs, c } = await runToEnd(rt, r, 16);
    expect(logs).toMatch(/full after (\d+) MiB/);
    const full = Number(/full after (\d+) MiB/.exec(logs)![1]);
    expect(full).toBeGreaterThanOrEqual(12);
    expect(full).toBeLessThanOrEqual(16);
    expect(code).toBe(1);
    const volume = (await c.inspect()).Mounts.find((m) => m.Destination === '/out')!.Name!;
    expect((await docker.getVolume(volume).inspect()).Labels).toMatchObject({ [LABEL_SCRATCH]: 'ext4', 'net.zeus.worker': worker });
    expect(loopsOn(scratch)).toHaveLength(1);
    const files = await rt.unpackOut(c, join(dir, 'ext4-result'), 64 * 1024 * 1024);
    expect(readdirSync(files.dir)).toContain('f0');
    expect(readdirSync(files.dir)).not.toContain('lost+found');
    await rt.remove(c);
    expect(await volumeExists(volume)).toBe(false);
    expect(loopsOn(scratch)).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 60_000);

  it('falls back to a logged watchdog without loop devices: the writer is killed past the cap', async () => {
    const lines: string[] = [];
    const rt = new DockerRuntime(docker, { scratchDir: join(dir, 'watchdog'), loopScratch: false, log: (l) => lines.push(l) });
    const { code, logs, c } = await runToEnd(rt, ref(), 16);
    expect(code).toBe(137);
    expect(logs).not.toMatch(/wrote 128 MiB/);
    expect(lines.join('\n')).toMatch(/WARNING: \/out cannot be a size-capped file system here \(loop devices are turned off\)/);
    expect(lines.join('\n')).toMatch(/past its 16 MiB cap: killing the container/);
    const volume = (await c.inspect()).Mounts.find((m) => m.Destination === '/out')!.Name!;
    await rt.remove(c);
    expect(await volumeExists(volume)).toBe(false);
  }, 60_000);

  it('the sweep at start removes what a crash left and spares what is in use or not this worker’s', async () => {
    const scratch = join(dir, 'sweep');
    const rt = new DockerRuntime(docker, { scratchDir: scratch });
    // Left by a crash: an area whose container never came (volume, loop device, file) …
    const orphan = await rt.scratch.create(ref(), 8);
    // … one whose volume went but whose loop device and file stayed …
    const halfGone = await rt.scratch.create(ref(), 8);
    await docker.getVolume(halfGone.volume).remove();
    // … one another worker on the same engine still owns, and one a live container uses.
    const others = await rt.scratch.create(ref('another-worker'), 8);
    const live = docker.getContainer((await rt.start(IMAGE, ref(), { cpuMillis: 500, memoryMiB: 64, diskMiB: 8 }, logTarget())).id);
    const liveVolume = (await live.inspect()).Mounts.find((m) => m.Destination === '/out')!.Name!;
    expect(loopsOn(scratch)).toHaveLength(4);

    const swept = await rt.sweepScratch(worker);
    expect(swept.sort()).toEqual([orphan.volume, `${halfGone.volume}.img`].sort());
    expect(await volumeExists(orphan.volume)).toBe(false);
    expect(existsSync(join(scratch, `${halfGone.volume}.img`))).toBe(false);
    expect(await volumeExists(others.volume)).toBe(true);
    expect(await volumeExists(liveVolume)).toBe(true);
    expect(loopsOn(scratch)).toHaveLength(2);

    await rt.remove(live);
    await rt.scratch.remove(others.volume);
    expect(loopsOn(scratch)).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 60_000);
});
