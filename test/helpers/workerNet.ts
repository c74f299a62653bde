import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDockerd } from './docker.ts';
import { NODE_BIN, nodeEnv, ROOT, waitFor, zeus as zeusIn } from './processes.ts';
import { buildBusyboxImage, docker } from './worker.ts';

// What the worker tests with real processes share: a one-bookkeeper devnet (500 ms blocks) in a
// temp dir, `zeus` run against its node, `zeus worker start` processes beside it with their output
// kept, busybox images built FROM scratch (nothing pulled), and the cleanup of all of it,
// containers the workers left included.

export { docker };

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export interface WorkerProcess {
  proc: ChildProcess;
  address: string;
  /** Everything it printed (stdout and stderr) so far. */
  log: () => string;
}

export class WorkerNet {
  readonly dir: string;
  readonly devnet: string;
  readonly home: string;
  url = '';
  readonly workers: WorkerProcess[] = [];
  /** Images to remove at the end (by tag or id). */
  readonly images: string[] = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.devnet = join(this.dir, 'net');
    this.home = join(this.devnet, 'node0');
  }

  /** `zeus devnet start --validators 1 --block-time 500` (or `blockTimeMs`); returns once it commits blocks. */
  start(blockTimeMs = 500): void {
    ensureDockerd();
    const r = zeusIn(
      join(this.dir, 'unused'),
      'devnet',
      'start',
      '--workers',
      '0',
      '--dir',
      this.devnet,
      '--validators',
      '1',
      '--block-time',
      String(blockTimeMs),
    );
    if (r.code !== 0) throw new Error(`devnet start failed (${r.code}): ${r.err}${r.out}`);
    this.url = (JSON.parse(readFileSync(join(this.devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
  }

  /** `zeus --home node0 --node URL …`, to completion. */
  zeus(...args: string[]): CliResult {
    return zeusIn(this.home, '--node', this.url, ...args);
  }

  address(key: string): string {
    const r = this.zeus('--json', 'keys', 'show', key);
    if (r.code !== 0) throw new Error(`keys show ${key}: ${r.err}`);
    return (JSON.parse(r.out) as { address: string }).address;
  }

  /** Builds a FROM scratch image with the host's busybox and `cmd` as its command. */
  buildBusybox(tag: string, cmd: string): void {
    buildBusyboxImage(tag, this.dir, cmd);
    this.images.push(tag);
  }

  /** `zeus worker start --key KEY` in the background; resolves once it follows the market. */
  async startWorker(key: string, args: string[] = [], env: NodeJS.ProcessEnv = nodeEnv()): Promise<WorkerProcess> {
    const proc = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', this.home, '--node', this.url, 'worker', 'start', '--key', key, ...args], {
      env,
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += String(d)));
    proc.stderr!.on('data', (d: Buffer) => (out += String(d)));
    const w: WorkerProcess = { proc, address: this.address(key), log: () => out };
    this.workers.push(w);
    await waitFor(() => out.includes('is following the market') || proc.exitCode !== null, 60_000, `worker ${key} to start`);
    if (!out.includes('is following the market')) throw new Error(`worker ${key} did not start:\n${out}`);
    return w;
  }

  /** Containers a worker started (running or not), by the label the runtime puts on them. */
  containersOf(worker: string, more: string[] = []): string[] {
    return docker('ps', '-aq', '--filter', `label=net.zeus.worker=${worker}`, ...more.flatMap((l) => ['--filter', `label=${l}`]))
      .split('\n')
      .filter(Boolean);
  }

  /** Stops the workers and the devnet; removes what they left and the temp dir. */
  stop(loadedImages: string[] = []): void {
    for (const w of this.workers) w.proc.kill('SIGKILL');
    zeusIn(join(this.dir, 'unused'), 'devnet', 'stop', '--dir', this.devnet);
    for (const w of this.workers) for (const c of this.containersOf(w.address)) docker('rm', '-f', '-v', c);
    // A lease cut short leaves its /out behind (src/worker/scratch.ts): the volume, then the loop
    // device on its file under this dir (the next worker start would sweep them; no test restarts it).
    const volumes = this.workers.flatMap((w) => docker('volume', 'ls', '-q', '--filter', `label=net.zeus.worker=${w.address}`).split('\n').filter(Boolean));
    if (volumes.length) docker('volume', 'rm', '-f', ...volumes);
    for (const line of execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n')) {
      const [dev, file] = line.trim().split(/\s+/);
      if (dev && file?.startsWith(this.dir)) execFileSync('losetup', ['--detach', dev]);
    }
    // The images as the workers loaded them (kept as a cache for the next lease). By tag, never by
    // id: an image loaded from the same bytes as a shared one (the sample apps) has the same id.
    const loaded = loadedImages.flatMap((r) =>
      docker('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${r}`).split('\n').filter(Boolean),
    );
    for (const i of [...this.images, ...loaded]) {
      try {
        docker('rmi', i);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The output of a CLI run that must succeed, with its stderr in the failure message. */
export function okOut(r: CliResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}\n${r.out}`);
  return r.out;
}
