import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDockerd } from './helpers/docker.ts';
import { nodeEnv, ROOT } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';

// docs/APPS.md, the app developer's guide, as a new developer follows it: `zeus devnet start`,
// `zeus app init`, `docker build`, `zeus app publish … --license-fee`, a first paid task with
// `--follow`, its result, the fees in `zeus app show`, an app that fails on its own, a too-low
// price, `task wait --timeout`, a WASI app, a new version and the old one deprecated. Real
// processes, the real Docker engine, no registry (FROM scratch + the host's static busybox).
//
// One difference from the guide: the image tag carries this process's id, since the Docker engine
// is shared with other test files and `hello:0.1.0` could be another's.

const root = mkdtempSync(join(tmpdir(), 'zeus-app-guide-'));
const net = join(root, 'devnet');
const work = join(root, 'work');
const tag = (v: string): string => `zeus-guide-${process.pid}/hello:${v}`;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  out: string;
  err: string;
}

/** `zeus ARGS` from the developer's folder, without blocking the event loop (a follow takes a while). */
function zeus(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'zeus.js'), ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function ok<T>(...args: string[]): Promise<T> {
  const r = await zeus('--json', ...args);
  expect(r.code, `zeus ${args.join(' ')}\n${r.err}${r.out}`).toBe(0);
  return JSON.parse(r.out) as T;
}

function docker(...args: string[]): string {
  const r = spawnSync('docker', args, { cwd: work, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `docker ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

interface Waited {
  task: string;
  state: string;
  outcome: string;
  ok: boolean;
  leases: { lease: number; state: string; resultDigest: string; workerPaid: string; feePaid: string; appOutcome: { exitCode: number } | null }[];
}

beforeAll(async () => {
  ensureDockerd();
  mkdirSync(work, { recursive: true });
  env = { ...nodeEnv(), PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
  // One bookkeeper and one worker: the guide's flow needs no more, and it comes up in half the time.
  const started = await zeus('--json', 'devnet', 'start', '--dir', net, '--validators', '1', '--workers', '1');
  expect(started.code, started.err + started.out).toBe(0);
  const info = JSON.parse(started.out) as { nodes: { api: string }[]; workers: { runtime: string }[] };
  expect(info.workers[0].runtime).toBe('docker');
  env = { ...env, ZEUS_HOME: join(net, 'node0'), ZEUS_NODE: info.nodes[0].api };
}, 300_000);

afterAll(async () => {
  await zeus('devnet', 'stop', '--dir', net);
  for (const v of ['0.1.0', '0.2.0']) spawnSync('docker', ['rmi', '-f', tag(v)], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
}, 120_000);

describe('the app developer guide (docs/APPS.md) on a devnet', () => {
  let paid: Waited;

  it('zeus app init writes the template, and never over an existing folder', async () => {
    const r = await ok<{ app: string; files: string[]; busybox: boolean }>('app', 'init', 'hello');
    expect(r.app).toBe('hello');
    expect(r.files).toEqual(['.dockerignore', 'Dockerfile', 'README.md', 'busybox', 'run.sh']);
    expect(readFileSync(join(work, 'hello', 'Dockerfile'), 'utf8')).toMatch(/^FROM scratch$/m);
    expect(readFileSync(join(work, 'hello', 'README.md'), 'utf8')).toContain(
      'zeus app publish hello:0.1.0 --from developer --name hello --version 0.1.0 --license-fee 0.5 --wait',
    );
    writeFileSync(join(work, 'hello', 'mine.txt'), 'my work');
    const again = await zeus('app', 'init', 'hello');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/hello already exists .*never overwrites/);
    expect(readFileSync(join(work, 'hello', 'mine.txt'), 'utf8')).toBe('my work');
    const bad = await zeus('app', 'init', 'Hello World');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/cannot be an app's name/);
    expect(existsSync(join(work, 'Hello World'))).toBe(false);
  });

  it('builds with the local engine, publishes with a license fee, and a first paid task is followed to its result', async () => {
    docker('build', '--pull=false', '-t', tag('0.1.0'), 'hello');
    // The guide's dry run on the developer's machine.
    expect(
      docker(
        'run',
        '--rm',
        '-e',
        'WHO=Ada',
        '-e',
        'TIMES=2',
        '--tmpfs',
        '/out:uid=65534',
        '--entrypoint',
        '/bin/sh',
        tag('0.1.0'),
        '-c',
        '/app/run.sh && cat /out/result.txt',
      ),
    ).toContain('2: hello, Ada');
    const pub = await ok<{ app: string; version: string; digest: string; status: string }>(
      'app',
      'publish',
      tag('0.1.0'),
      '--from',
      'developer',
      '--name',
      'hello',
      '--version',
      '0.1.0',
      '--license-fee',
      '0.5',
      '--wait',
    );
    expect(pub).toMatchObject({ app: 'hello', version: '0.1.0', status: 'committed' });
    paid = await ok<Waited>(
      'task',
      'post',
      '--from',
      'user',
      '--app',
      'hello@0.1.0',
      '--cpu',
      '0.5',
      '--memory',
      '64MiB',
      '--max-price',
      '1',
      '--input',
      'WHO=Ada',
      '--secret',
      'API_TOKEN=s3cret',
      '--follow',
    );
    expect(paid).toMatchObject({ state: 'done', outcome: 'succeeded', ok: true });
    expect(paid.leases[0].state).toBe('settled');
    expect(BigInt(paid.leases[0].feePaid)).toBeGreaterThan(0n);
    // The human line of the same end, from task wait on the finished task.
    const line = await zeus('task', 'wait', paid.task);
    expect(line.code).toBe(0);
    expect(line.out).toMatch(new RegExp(`task ${paid.task} succeeded .*result sha256:[0-9a-f]{64}.*zeus task result ${paid.task}`));
    // task status names the id `task`, as post and wait do.
    expect((await ok<{ task: string; id?: string }>('task', 'status', paid.task)).task).toBe(paid.task);

    const got = await ok<{ digest: string; file: string }>('task', 'result', paid.task, '--out', 'result.tar');
    expect(got.digest).toBe(paid.leases[0].resultDigest);
    const files = await tarTextFiles(readFileSync(join(work, 'result.tar')));
    expect(files.get('out/result.txt')).toBe('1: hello, Ada\n2: hello, Ada\n3: hello, Ada\nan API_TOKEN was given\n');
  }, 300_000);

  it('zeus app show lists the fees the version earned', async () => {
    const shown = await ok<{ versions: { version: string; earned: { paid: string; leases: number; tasks: number } }[] }>('app', 'show', 'hello');
    expect(shown.versions[0].earned).toMatchObject({ paid: paid.leases[0].feePaid, leases: 1, tasks: 1 });
    const text = await zeus('app', 'show', 'hello');
    expect(text.out).toMatch(/earned 0\.\d+ ZNC in license fees from 1 lease\(s\) of 1 task\(s\)/);
  });

  it('an app that fails on its own: task wait exits 1 and says so, and the logs say why', async () => {
    const posted = await ok<{ task: string }>(
      'task',
      'post',
      '--from',
      'user',
      '--app',
      'hello@0.1.0',
      '--cpu',
      '0.5',
      '--memory',
      '64MiB',
      '--max-price',
      '1',
      '--input',
      'TIMES=many',
      '--wait',
    );
    const r = await zeus('--json', 'task', 'wait', posted.task, '--timeout', '240');
    expect(r.code, r.err).toBe(1);
    const w = JSON.parse(r.out) as Waited;
    expect(w).toMatchObject({ outcome: 'failed', ok: false });
    expect(w.leases[0].appOutcome?.exitCode).toBe(2);
    expect((await zeus('task', 'logs', posted.task)).out).toContain("TIMES must be a whole number, got 'many'");
  }, 300_000);

  it('a too-low --max-price says the price is the reason, with the ask to offer', async () => {
    const r = await zeus('task', 'post', '--from', 'user', '--app', 'hello@0.1.0', '--max-price', '0.00000001', '--input', 'WHO=Ada', '--wait');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the max price is too low: --max-price 0\.00000001 ZNC\/h is below the ask of every worker .*the cheapest asks [\d.]+ ZNC\/h/);
    expect(r.err).toMatch(/raise --max-price to at least [\d.]+/);
  });

  it('task wait --timeout gives up with exit code 124 while the task goes on', async () => {
    const posted = await ok<{ task: string }>('task', 'post', '--from', 'user', '--app', 'hello@0.1.0', '--max-price', '1', '--bid-window', '200', '--wait');
    const r = await zeus('task', 'wait', posted.task, '--timeout', '1');
    expect(r.code).toBe(124);
    expect(r.err).toMatch(/is still open after 1 s/);
    // With --json the answer still names the task and its state, for a script that goes on waiting.
    const j = await zeus('--json', 'task', 'wait', posted.task, '--timeout', '1');
    expect(j.code).toBe(124);
    expect(JSON.parse(j.out)).toMatchObject({ task: posted.task, state: 'open', outcome: null, ok: false, error: { code: 'TIMEOUT' } });
    await ok('task', 'cancel', posted.task, '--from', 'user', '--wait');
  });

  it('the WASI template publishes without Docker and runs on the wasm runtime', async () => {
    await ok('app', 'init', 'hello-wasm', '--wasm');
    await ok(
      'app',
      'publish',
      '--wasm',
      'hello-wasm/app.wasm',
      '--arg',
      '100',
      '--from',
      'developer',
      '--name',
      'hello-wasm',
      '--version',
      '0.1.0',
      '--license-fee',
      '0.5',
      '--wait',
    );
    const w = await ok<Waited>(
      'task',
      'post',
      '--from',
      'user',
      '--app',
      'hello-wasm@0.1.0',
      '--runtime',
      'wasm',
      '--memory',
      '64MiB',
      '--max-price',
      '1',
      '--follow',
    );
    expect(w).toMatchObject({ outcome: 'succeeded', ok: true });
    await ok('task', 'result', w.task, '--out', 'wasm.tar');
    expect((await tarTextFiles(readFileSync(join(work, 'wasm.tar')))).get('out/result.txt')).toBe('24133\n'); // the first 100 primes
  }, 300_000);

  it('a new version, and the old one deprecated: no new tasks of it', async () => {
    writeFileSync(join(work, 'hello', 'run.sh'), readFileSync(join(work, 'hello', 'run.sh'), 'utf8').replace('hello, $WHO', 'hi, $WHO'));
    docker('build', '--pull=false', '-t', tag('0.2.0'), 'hello');
    await ok('app', 'publish', tag('0.2.0'), '--from', 'developer', '--name', 'hello', '--version', '0.2.0', '--license-fee', '0.6', '--wait');
    await ok('app', 'deprecate', '--from', 'developer', '--name', 'hello', '--version', '0.1.0', '--wait');
    const refused = await zeus('task', 'post', '--from', 'user', '--app', 'hello@0.1.0', '--max-price', '1', '--wait');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('APP_DEPRECATED');
    // Without @version a task takes the newest version that is not deprecated.
    const posted = await ok<{ task: string }>('task', 'post', '--from', 'user', '--app', 'hello', '--max-price', '1', '--bid-window', '200', '--wait');
    expect((await ok<{ version: string }>('task', 'status', posted.task)).version).toBe('0.2.0');
    await ok('task', 'cancel', posted.task, '--from', 'user', '--wait');
    const shown = await zeus('app', 'show', 'hello');
    expect(shown.out).toMatch(/0\.1\.0 .*DEPRECATED/);
  }, 120_000);
});
