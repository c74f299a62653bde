import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { CHATTY_CHUNK_BYTES, CHATTY_STDERR, chattyModule } from '../src/worker/wasm-sample.ts';
import { sleep, waitFor } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { docker, okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// A workload that prints 1 GiB, with real processes: a one-bookkeeper devnet, `zeus worker
// start` (docker and wasm), a busybox container that prints 1 GiB to stdout and a WASI module that
// does the same. The agent must live through it — also when it is SIGKILLed mid-flood and started
// again, which takes the container up — with its memory bounded (VmHWM from /proc), the lease's
// log capped at the policy's cap (8 MiB by default) and ending with what was dropped, Docker's own
// log of the container capped on the host's disk, and the lease completing with its result.

const net = new WorkerNet('zeus-worker-logs-');
const IMAGE = `zeus-test/worker-logs:${process.pid}`;
const WASM_IMAGE = `zeus-test/worker-logs-wasm:${process.pid}`;
const GIB = 1024 ** 3;
const CAP = 8 * 1024 * 1024;
/** The agent's peak resident memory may grow this much over its peak before the lease (it was 2.5 GB). */
const RSS_GROWTH_BOUND = 192 * 1024 * 1024;
const CHUNKS = GIB / CHATTY_CHUNK_BYTES;
const DROPPED = /\[zeus: (?:at least )?(\d+) bytes dropped past the 8 MiB cap[^\]\n]*\]\n$/;

let c: ZeusClient;

/** The peak resident memory of a process so far (VmHWM), in bytes; undefined once it is gone. */
function vmHwm(pid: number | undefined): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Polls while a workload runs: each agent's last VmHWM, and the most Docker's log files of a container took on disk. */
class Watch {
  readonly hwm = new Map<number, number>();
  dockerLogMax = 0;
  logPath = '';
  private readonly timer: NodeJS.Timeout;

  constructor(workers: () => WorkerProcess[]) {
    this.timer = setInterval(() => {
      for (const w of workers()) {
        const h = vmHwm(w.proc.pid);
        if (h !== undefined && w.proc.pid !== undefined) this.hwm.set(w.proc.pid, h);
      }
      if (!this.logPath) return;
      let sum = 0;
      // The live file and its rotations (json-file: LOG.1, LOG.2, …; the local driver: one directory).
      for (const f of [this.logPath, ...Array.from({ length: 9 }, (_, i) => `${this.logPath}.${i + 1}`)]) {
        try {
          sum += statSync(f).size;
        } catch {
          // not there (yet)
        }
      }
      this.dockerLogMax = Math.max(this.dockerLogMax, sum);
    }, 200);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function post(app: string, runtime: 'docker' | 'wasm'): string {
  const out = okOut(
    net.zeus(
      '--json',
      'task',
      'post',
      '--from',
      'bob',
      '--app',
      `${app}@1`,
      '--runtime',
      runtime,
      '--cpu',
      '0.5',
      '--memory',
      '64MiB',
      '--max-price',
      '1',
      '--bid-window',
      '6',
      '--wait',
    ),
  );
  return (JSON.parse(out) as { task: string }).task;
}

/** Waits for the lease to have its result on the chain, or for every agent running it to be gone. */
async function resultOrDeath(task: string, agent: () => WorkerProcess, timeoutMs: number): Promise<LeaseAnswer | undefined> {
  let lease: LeaseAnswer | undefined;
  await waitFor(
    async () => {
      lease = (await c.task(task)).leases[0];
      return (lease?.resultDigest ?? '') !== '' || agent().proc.exitCode !== null || agent().proc.signalCode !== null;
    },
    timeoutMs,
    `lease 0 of ${task.slice(0, 12)}… to have its result`,
    250,
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message} (last seen: ${JSON.stringify(lease)})\n${agent().log().slice(-4000)}`);
  });
  return lease;
}

function expectAlive(w: WorkerProcess): void {
  expect(w.proc.exitCode, `the agent exited:\n${w.log().slice(-4000)}`).toBe(null);
  expect(w.proc.signalCode).toBe(null);
  expect(w.log()).not.toMatch(/ERR_STRING_TOO_LONG|heap out of memory/);
}

/** The lease's saved log: its size, its start, and its end, which must say how much was dropped. */
function savedLog(task: string): { size: number; dropped: number; head: string; tail: string } {
  const file = join(net.home, 'worker', 'leases', `${task}-0`, 'container.log');
  if (!existsSync(file)) return { size: -1, dropped: -1, head: '', tail: '' };
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(Math.min(4096, size));
  const tail = Buffer.alloc(Math.min(200, size));
  readSync(fd, head, 0, head.length, 0);
  readSync(fd, tail, 0, tail.length, size - tail.length);
  closeSync(fd);
  const m = DROPPED.exec(tail.toString('latin1'));
  return { size, dropped: m ? Number(m[1]) : -1, head: head.toString('latin1'), tail: tail.toString('latin1') };
}

beforeAll(() => {
  // 1 s blocks: the report deadline (60 blocks) then leaves a minute for the agent killed mid-flood
  // to be back — on a loaded machine, with the engine busy logging, a start took over 30 s.
  net.start(1000);
  c = new ZeusClient(net.url);
  // 1 GiB with no newline (the engine cuts it into 16 KiB messages), then the result and a last line.
  net.buildBusybox(IMAGE, "head -c 1073741824 /dev/zero | tr '\\0' x; echo; echo done > /out/x; echo finished >&2");
  const ctx = join(net.dir, 'wasm-ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'chatty.wasm'), chattyModule(CHUNKS));
  writeFileSync(join(ctx, 'Dockerfile'), ['FROM scratch', 'COPY chatty.wasm /app/chatty.wasm', 'LABEL org.zeusnet.module=/app/chatty.wasm', ''].join('\n'));
  docker('build', '-q', '-t', WASM_IMAGE, ctx);
  net.images.push(WASM_IMAGE);
  okOut(net.zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'loud', '--version', '1', '--wait'));
  okOut(net.zeus('--json', 'app', 'publish', WASM_IMAGE, '--from', 'alice', '--name', 'loudwasm', '--version', '1', '--wait'));
}, 180_000);

afterAll(() => net.stop(['zeus-app/loud']));

describe('a workload that prints 1 GiB', () => {
  it("in a container: the agent survives it (also SIGKILLed and restarted mid-flood) with bounded memory; the log is capped with the dropped count; the engine's log is capped on disk; the lease completes", async () => {
    let agent = await net.startWorker('carol', ['--report-seconds', '1', '--runtime', 'docker']);
    const first = agent;
    const before = vmHwm(first.proc.pid)!;
    const watch = new Watch(() => net.workers);
    try {
      const task = post('loud', 'docker');
      let id = '';
      await waitFor(() => (id = net.containersOf(agent.address)[0] ?? '') !== '', 60_000, 'the container', 200);
      watch.logPath = docker('inspect', '-f', '{{.LogPath}}', id).trim();
      const logConfig = JSON.parse(docker('inspect', '-f', '{{json .HostConfig.LogConfig}}', id)) as { Type: string; Config: Record<string, string> };
      const started = Date.now();
      // Mid-flood: once the engine has logged a good part, kill the agent and start it again.
      await waitFor(() => watch.dockerLogMax > 3 * CAP || Date.now() - started > 8_000, 30_000, 'the flood to start', 100);
      await sleep(2000);
      first.proc.kill('SIGKILL');
      await new Promise((r) => (first.proc.exitCode !== null || first.proc.signalCode !== null ? r(null) : first.proc.once('exit', r)));
      const firstHwm = watch.hwm.get(first.proc.pid!)!;
      agent = await net.startWorker('carol', ['--report-seconds', '1', '--runtime', 'docker']);
      const lease = await resultOrDeath(task, () => agent, 120_000);
      const secondHwm = watch.hwm.get(agent.proc.pid!) ?? 0;
      const log = savedLog(task);
      console.log(
        `docker flood: VmHWM before ${before} B, first agent ${firstHwm} B, second agent ${secondHwm} B; engine's log at most ${watch.dockerLogMax} B on disk (${JSON.stringify(logConfig)}); saved log ${log.size} B, ${log.dropped} B dropped`,
      );

      expectAlive(agent);
      expect(agent.log()).toContain(`taking up container ${id.slice(0, 12)}`);
      expect(lease?.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(log.dropped, `the log's end: ${JSON.stringify(log.tail)}`).toBeGreaterThan(0);
      // Output printed while no agent ran and the engine's capped log let go is not counted: the note says so.
      expect(log.tail).toMatch(/\[zeus: at least \d+ bytes dropped past the 8 MiB cap \(the worker agent was restarted meanwhile/);
      expect(log.size).toBeLessThanOrEqual(CAP + 1024);
      expect(log.size).toBeGreaterThanOrEqual(CAP);
      expect(log.head).toMatch(/^x{4096}$/);
      // What the agents saw past the cap (some of the flood was printed while none ran).
      expect(log.dropped).toBeGreaterThan(GIB / 4);
      expect(log.dropped).toBeLessThanOrEqual(GIB + 16);
      expect(firstHwm - before).toBeLessThan(RSS_GROWTH_BOUND);
      expect(secondHwm - before).toBeLessThan(RSS_GROWTH_BOUND);
      // The engine's log has a size cap, and the files on disk kept to it.
      expect(logConfig.Type).toBe('json-file');
      expect(logConfig.Config).toMatchObject({ 'max-size': expect.stringMatching(/^\d+m$/), 'max-file': expect.stringMatching(/^\d+$/) });
      const dockerCap = Number.parseInt(logConfig.Config['max-size'], 10) * 1024 * 1024 * Number(logConfig.Config['max-file']);
      expect(dockerCap).toBeLessThanOrEqual(4 * CAP);
      expect(watch.dockerLogMax).toBeGreaterThan(0);
      expect(watch.dockerLogMax).toBeLessThanOrEqual(dockerCap + 64 * 1024);

      const out = join(net.dir, 'loud-result.tar');
      okOut(net.zeus('--json', 'task', 'result', task, '--out', out));
      expect((await tarTextFiles(readFileSync(out))).get('out/x')).toBe('done\n');
    } finally {
      watch.stop();
    }
  }, 240_000);

  it('as a WASI module: the agent survives it with bounded memory, the log keeps exactly the cap and counts exactly what it dropped', async () => {
    const agent = await net.startWorker('dave', ['--report-seconds', '1', '--runtime', 'wasm']);
    const before = vmHwm(agent.proc.pid)!;
    const watch = new Watch(() => [agent]);
    try {
      const task = post('loudwasm', 'wasm');
      const lease = await resultOrDeath(task, () => agent, 120_000);
      const hwm = watch.hwm.get(agent.proc.pid!) ?? vmHwm(agent.proc.pid) ?? 0;
      const log = savedLog(task);
      console.log(`wasm flood: VmHWM before ${before} B, after ${hwm} B; saved log ${log.size} B, ${log.dropped} B dropped`);
      expectAlive(agent);
      expect(lease?.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(log.dropped, `the log's end: ${JSON.stringify(log.tail)}`).toBeGreaterThan(0);
      expect(log.head).toMatch(/^x{4096}$/);
      expect(log.size).toBe(CAP + `[zeus: ${log.dropped} bytes dropped past the 8 MiB cap]\n`.length + 1);
      expect(log.dropped).toBe(GIB + CHATTY_STDERR.length - CAP);
      expect(hwm - before).toBeLessThan(RSS_GROWTH_BOUND);
    } finally {
      watch.stop();
    }
  }, 180_000);
});
