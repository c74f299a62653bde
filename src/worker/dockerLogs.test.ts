import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDockerd } from '../../test/helpers/docker.ts';
import { NODE_BIN, waitFor } from '../../test/helpers/processes.ts';
import { buildBusyboxImage, docker as dockerCli } from '../../test/helpers/worker.ts';
import { DockerRuntime, type LeaseRef } from './docker.ts';

// A container's output into its lease's capped log, with a real engine: every byte is seen and
// counted once (the cap keeps the head, the count is exact); the engine's own log has a size cap;
// and an agent process SIGKILLed while the container prints is followed by one that takes the log
// up where the dead one's record ends, with the lines printed meanwhile from the engine's log —
// also when the container ended before the new agent came.

const dir = mkdtempSync(join(tmpdir(), 'zeus-docker-logs-'));
const FLOOD = `zeus-test/docker-logs-flood:${process.pid}`;
const LINES = `zeus-test/docker-logs-lines:${process.pid}`;
const docker = new Docker();
const worker = `test-worker-${process.pid}`;
const rt = new DockerRuntime(docker, { scratchDir: join(dir, 'scratch'), loopScratch: false });
const ref = (): LeaseRef => ({ task: randomBytes(32).toString('hex'), lease: 0, worker });
const MiB = 1024 * 1024;
const limits = { cpuMillis: 1000, memoryMiB: 64, diskMiB: 8 };
/** Lines the slow container prints, 40 ms apart. */
const N = 80;
const lines = (): string => Array.from({ length: N }, (_, i) => `line ${i}\n`).join('');

beforeAll(() => {
  ensureDockerd();
  // 64 MiB on stdout with no newline, then a line on each stream.
  buildBusyboxImage(FLOOD, dir, "head -c 67108864 /dev/zero | tr '\\0' x; echo; echo end; echo err >&2");
  buildBusyboxImage(LINES, dir, `i=0; while [ $i -lt ${N} ]; do echo line $i; i=$((i+1)); sleep 0.04; done`);
}, 60_000);

afterAll(() => {
  for (const c of dockerCli('ps', '-aq', '--filter', `label=net.zeus.worker=${worker}`).split('\n').filter(Boolean)) dockerCli('rm', '-f', '-v', c);
  dockerCli('rmi', '-f', FLOOD, LINES);
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a lease's container in another process, which prints the container id and is then SIGKILLed. */
async function startInDoomedAgent(image: string, logFile: string, killAfterMs: number): Promise<string> {
  const script = join(dir, `agent-${randomBytes(4).toString('hex')}.ts`);
  writeFileSync(
    script,
    [
      `import { DockerRuntime } from ${JSON.stringify(join(import.meta.dirname, 'docker.ts'))};`,
      `const rt = new DockerRuntime(undefined, { scratchDir: ${JSON.stringify(join(dir, 'scratch'))}, loopScratch: false });`,
      `const w = await rt.start(${JSON.stringify(image)}, ${JSON.stringify(ref())}, ${JSON.stringify(limits)}, { file: ${JSON.stringify(logFile)}, capBytes: ${MiB} });`,
      'console.log(w.id);',
      'setInterval(() => undefined, 1000);',
    ].join('\n'),
  );
  const p = spawn(NODE_BIN, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += String(d)));
  p.stderr.on('data', (d: Buffer) => (out += String(d)));
  await waitFor(() => /^[0-9a-f]{64}$/m.test(out) || p.exitCode !== null, 30_000, 'the doomed agent to start its container');
  const id = /^([0-9a-f]{64})$/m.exec(out)?.[1];
  if (!id) throw new Error(`the doomed agent did not start its container:\n${out}`);
  await new Promise((r) => setTimeout(r, killAfterMs));
  const dead = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await dead;
  return id;
}

describe("a container's output in its lease's log", () => {
  it('keeps exactly the cap, counts exactly the rest, and the engine keeps a capped log of its own', async () => {
    const file = join(dir, 'flood.log');
    const w = await rt.start(FLOOD, ref(), limits, { file, capBytes: MiB });
    const host = (await docker.getContainer(w.id).inspect()).HostConfig;
    expect(host.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } });
    expect((await w.exited).code).toBe(0);
    const counts = await w.logsDone();
    await w.remove();
    const total = 64 * MiB + '\nend\nerr\n'.length;
    expect(counts).toEqual({ kept: MiB, dropped: total - MiB, done: true });
    const log = readFileSync(file, 'latin1');
    expect(log).toBe(`${'x'.repeat(MiB)}\n[zeus: ${total - MiB} bytes dropped past the 1 MiB cap]\n`);
    expect(w.logCounts()).toEqual({ kept: MiB, dropped: total - MiB, done: true });
  }, 120_000);

  it('taken up by a new agent after the one that started it was SIGKILLed mid-output: every line, in order', async () => {
    const file = join(dir, 'lines.log');
    const id = await startInDoomedAgent(LINES, file, 1200);
    const before = readFileSync(file, 'utf8');
    expect(before).toMatch(/^line 0\n/);
    const w = await rt.attach(id, [], { file, capBytes: MiB });
    await w.exited;
    await w.logsDone();
    await w.remove();
    const log = readFileSync(file, 'utf8');
    expect(log).toContain('[zeus: the worker agent was restarted');
    // Each line once, in order; only around the restart may one repeat.
    const got = log.split('\n').filter((l) => l.startsWith('line '));
    const deduped = got.filter((l, i) => l !== got[i - 1]);
    expect(`${deduped.join('\n')}\n`).toBe(lines());
    expect(got.length - deduped.length).toBeLessThanOrEqual(2);
    expect(log).not.toMatch(/dropped/);
  }, 60_000);

  it("taken up after the container ended while no agent ran: the rest comes from the engine's log", async () => {
    const file = join(dir, 'ended.log');
    const id = await startInDoomedAgent(LINES, file, 300);
    await docker.getContainer(id).wait();
    const w = await rt.attach(id, [], { file, capBytes: MiB });
    expect((await w.exited).code).toBe(0);
    await w.logsDone();
    await w.remove();
    const got = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('line '));
    expect(`${got.filter((l, i) => l !== got[i - 1]).join('\n')}\n`).toBe(lines());
  }, 60_000);
});
