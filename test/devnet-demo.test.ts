import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient } from '../src/sdk/index.ts';
import { launchBrowser } from './helpers/browser.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { isAlive as alive } from '../src/cli/devnet.ts';
import { ROOT, zeusAsync } from './helpers/processes.ts';
import { docker } from './helpers/worker.ts';

// The README's main commands as a user runs them: `zeus devnet start` (4 bookkeepers, 2 worker
// agents, the console, funded keys, the sample apps), then `zeus devnet demo` (a render task and a
// service task end to end), then `zeus devnet stop`. And the same on a machine without Docker.

const root = mkdtempSync(join(tmpdir(), 'zeus-devnet-demo-'));
const env = { ...process.env, ZEUS_KEYSTORE_FAST_KDF: '1' };

const zeus = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> =>
  zeusAsync(args, { ...env, ...extraEnv });

interface Started {
  chainId: string;
  console: string;
  nodes: { api: string; pid: number }[];
  workers: { name: string; address: string; runtime: string; pid: number; home: string }[];
  apps: { name: string; digest: string; kind: string }[];
  keys: { name: string; address: string; balance: string }[];
}

interface Demo {
  ok: boolean;
  skipped: string[];
  tasks: {
    task: string;
    kind: string;
    app: string;
    leaseState: string;
    userPaid: string;
    workerPaid: string;
    feePaid: string;
    resultDigest?: string;
    resultFile?: string;
    served?: string;
    endpoint?: string;
  }[];
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('zeus devnet start + demo with Docker', () => {
  const dir = join(root, 'docker');
  let started: Started;
  let demo: Demo;

  beforeAll(() => ensureDockerd(), 60_000);
  afterAll(async () => {
    await zeus(['devnet', 'stop', '--dir', dir]);
  }, 60_000);

  it('brings up 4 bookkeepers, 2 Docker workers, the console, funded role keys and the sample apps, with progress', async () => {
    const r = await zeus(['devnet', 'start', '--dir', dir]);
    expect(r.code, r.err + r.out).toBe(0);
    // Progress on stderr while it comes up, a summary at the end.
    for (const m of [
      /dev genesis with 4 bookkeeper/,
      /commit a block together/,
      /building the sample images/,
      /publishing mandelbrot@1/,
      /worker worker-1 .* registering/,
      /2 worker\(s\) follow the market/,
    ])
      expect(r.err).toMatch(m);
    expect(r.out).toMatch(/ZeusNet devnet .* is up/);
    expect(r.out).toMatch(/web console +http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.out).toMatch(/npx zeus devnet demo --dir/);
    const again = await zeus(['--json', 'devnet', 'start', '--dir', dir]);
    expect(again.code, again.err).toBe(0);
    started = JSON.parse(again.out) as Started;
    expect(started.nodes).toHaveLength(4);
    expect(started.workers.map((w) => [w.name, w.runtime])).toEqual([
      ['worker-1', 'docker'],
      ['worker-2', 'docker'],
    ]);
    for (const p of [...started.nodes, ...started.workers]) expect(alive(p.pid)).toBe(true);
    expect(started.apps.map((a) => a.name).sort()).toEqual(['hash', 'mandelbrot', 'primes', 'web']);
    const c = new ZeusClient(started.nodes[0].api);
    for (const a of started.apps) expect((await c.app(a.name)).versions[0].digest).toBe(a.digest);
    // The workers are registered with the chain, bonded, each beside its own node.
    const registered = (await c.workers()).workers.map((w) => w.address);
    for (const w of started.workers) expect(registered).toContain(w.address);
    for (const name of ['developer', 'user']) expect(BigInt(started.keys.find((k) => k.name === name)!.balance)).toBeGreaterThan(0n);
    // The console is served at / by the node.
    const page = await fetch(started.console);
    expect(page.status).toBe(200);
  }, 300_000);

  it('zeus devnet demo runs the render task to a paid result and the service task to a cancel, showing each step', async () => {
    // One demo, with --json: the steps it shows go to stderr then, the answer to stdout.
    const json = await zeus(['--json', 'devnet', 'demo', '--dir', dir]);
    expect(json.code, json.err).toBe(0);
    for (const m of [
      /\$ zeus task post --from user --app mandelbrot@1/,
      /bid from worker-\d/,
      /leased replica 0 to worker-\d/,
      /image mandelbrot@sha256:[0-9a-f]{64} delivered/,
      /usage report 1 on the chain/,
      /submitted result sha256:/,
      /released the payment/,
      /developer earned/,
      /GET http:\/\/127\.0\.0\.1:\d+\/ → HTTP 200: "Hello from a ZeusNet worker"/,
      /no longer answers: the container is gone/,
      /#\/task\//,
    ])
      expect(json.err).toMatch(m);
    demo = JSON.parse(json.out) as Demo;
    expect(demo.ok).toBe(true);
    const [render, service] = demo.tasks;
    expect(render).toMatchObject({ kind: 'batch', app: 'mandelbrot@1', leaseState: 'settled' });
    expect(render.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The user paid exactly what the worker and the developer received (the rest came back).
    expect(BigInt(render.userPaid)).toBe(BigInt(render.workerPaid) + BigInt(render.feePaid));
    expect(BigInt(render.workerPaid)).toBeGreaterThan(0n);
    const png = readFileSync(render.resultFile!);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.readUInt32BE(16)).toBe(96); // SIZE=96
    expect(service).toMatchObject({ kind: 'service', app: 'web@1', leaseState: 'cancelled', served: 'Hello from a ZeusNet worker' });
    expect(BigInt(service.userPaid)).toBe(BigInt(service.workerPaid) + BigInt(service.feePaid));
  }, 600_000);

  it("the nodes' and the workers' Prometheus metrics show what the demo did", async () => {
    const sample = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    // One demo run, two tasks: every node saw every market event, the same numbers.
    for (const n of started.nodes) {
      const text = await (await fetch(`${n.api}/metrics`)).text();
      expect(sample(text, 'zeus_market_events_total{kind="task-posted"}')).toBe(2);
      expect(sample(text, 'zeus_peers')).toBe(3);
      expect(sample(text, 'zeus_height')).toBeGreaterThan(50);
      expect(sample(text, 'zeus_commit_latency_seconds_count')).toBeGreaterThan(50);
    }
    let started_ = 0;
    let results = 0;
    let reports = 0;
    for (const w of started.workers) {
      const token = readFileSync(join(w.home, 'worker', 'admin.token'), 'utf8').trim();
      const admin = (JSON.parse(readFileSync(join(w.home, 'worker', 'admin.json'), 'utf8')) as { url: string }).url;
      const text = await (await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      started_ += sample(text, 'zeus_worker_leases_started_total');
      results += sample(text, 'zeus_worker_results_submitted_total');
      reports += sample(text, 'zeus_worker_usage_reports_total');
      expect(sample(text, 'zeus_worker_leases_running')).toBe(0);
    }
    expect(started_).toBe(2);
    expect(results).toBe(1); // the render task; a service has no result
    expect(reports).toBeGreaterThanOrEqual(2); // at least two periods of the service
  }, 60_000);

  it("the console the summary points at shows the demo's tasks, workers and apps in Chromium", async () => {
    const art = join(ROOT, 'test-artifacts', 'devnet');
    mkdirSync(art, { recursive: true });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const body = async (route: string, re: RegExp, name: string): Promise<void> => {
        await page.goto(`${started.console}#/${route}`);
        await page.waitForFunction(`new RegExp(${JSON.stringify(re.source)}).test(document.body.innerText)`, undefined, { timeout: 30_000 });
        await page.screenshot({ path: join(art, `${name}.png`), fullPage: true });
      };
      const [render, service] = demo.tasks;
      await body(`task/${render.task}`, /settled/, 'render-task');
      await body(`task/${service.task}`, /cancelled/, 'service-task');
      await body('workers', new RegExp(started.workers[0].address.slice(0, 10)), 'workers');
      await body('apps', /mandelbrot/, 'apps');
      await body('bookkeepers', /bookkeeper-3/, 'bookkeepers');
    } finally {
      await browser.close();
    }
  }, 120_000);

  it("zeus devnet stop ends every process and removes the workers' containers", async () => {
    const r = await zeus(['--json', 'devnet', 'stop', '--dir', dir]);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { stopped: number }).stopped).toBe(6);
    for (const p of [...started.nodes, ...started.workers]) expect(alive(p.pid)).toBe(false);
    for (const w of started.workers) expect(docker('ps', '-aq', '--filter', `label=net.zeus.worker=${w.address}`).trim()).toBe('');
  }, 60_000);
});

describe('zeus devnet start + demo without a Docker engine', () => {
  const dir = join(root, 'wasm');
  // A socket nobody listens on: the devnet must see there is no engine and use WebAssembly.
  const noDocker = { DOCKER_HOST: `unix://${join(root, 'no-docker.sock')}` };
  afterAll(async () => {
    await zeus(['devnet', 'stop', '--dir', dir], noDocker);
  }, 60_000);

  it('runs wasm workers, publishes the WASI sample without Docker, and completes the compute task', async () => {
    const r = await zeus(['devnet', 'start', '--dir', dir, '--validators', '2'], noDocker);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.err).toMatch(/no Docker engine answers: the workers run WebAssembly/);
    expect(r.err).toMatch(/publishing the WASI sample module alone \(pushed as a one-layer image without Docker\)/);
    const again = await zeus(['--json', 'devnet', 'start', '--dir', dir], noDocker);
    expect(again.code, again.err).toBe(0);
    const started = JSON.parse(again.out) as Started;
    expect(started.workers.map((w) => w.runtime)).toEqual(['wasm', 'wasm']);
    expect(started.apps.map((a) => a.name)).toEqual(['primes']);
    const d = await zeus(['--json', 'devnet', 'demo', '--dir', dir], noDocker);
    expect(d.code, d.err + d.out).toBe(0);
    const demo = JSON.parse(d.out) as Demo;
    expect(demo.ok).toBe(true);
    expect(demo.tasks).toHaveLength(1);
    expect(demo.tasks[0]).toMatchObject({ app: 'primes@1', leaseState: 'settled' });
    expect(demo.skipped[0]).toMatch(/service task/);
    expect(existsSync(demo.tasks[0].resultFile!)).toBe(true);
  }, 400_000);
});
