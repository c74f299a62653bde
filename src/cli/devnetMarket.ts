import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeApiError, ZeusClient } from '../sdk/index.ts';
import { buildSampleApps, SAMPLE_APPS } from './sampleApps.ts';

// The market side of a devnet: worker agents beside its nodes and the sample apps published by a
// developer key, so that a fresh devnet can run tasks at once. Each worker is its own process with
// its own home (keys, state, admin token); it talks to one node's API, spread over the nodes.

export type DevnetRuntime = 'docker' | 'wasm';

export interface DevnetWorker {
  name: string;
  /** The key it signs with; its address is the worker. */
  key: string;
  address: string;
  home: string;
  /** API of the node it follows. */
  node: string;
  runtime: DevnetRuntime;
  pid: number;
  log: string;
}

export interface DevnetApp {
  name: string;
  version: string;
  digest: string;
  kind: 'batch' | 'service' | 'wasm';
  /** What it does, for the summary. */
  about: string;
}

/** Named keys a devnet with workers funds besides alice…dave. */
export const DEVELOPER_KEY = 'developer';
export const USER_KEY = 'user';
export const workerKey = (i: number): string => `worker-${i}`;

export const ZEUS_BIN = fileURLToPath(new URL('../../bin/zeus.js', import.meta.url));
const APP_VERSION = '1';
/** The license fee a sample app's developer earns per hour of use. */
const SAMPLE_LICENSE_FEE = '0.05';

const ABOUT: Record<string, string> = {
  mandelbrot: 'batch: renders the Mandelbrot set to /out/mandelbrot.ppm (SIZE, MAX_ITER)',
  hash: 'batch: N rounds of SHA-256 over SEED to /out/result.txt',
  web: 'service: busybox httpd on port 8080',
  primes: 'wasm batch: the sum of the first N primes to /out/result.txt',
};

export const isAlive = (pid: number): boolean => {
  // 0 or less is a process group to kill(2), never one process: "not started" (an etcd member's pid before its start).
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after 10 s; how many were running. */
export async function stopProcesses(pids: readonly number[]): Promise<number> {
  let stopped = 0;
  for (const pid of pids) {
    if (!isAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    stopped++;
  }
  return stopped;
}

/** Docker when an engine answers within 3 s, else the WebAssembly runtime. */
export async function chooseRuntime(wanted: 'auto' | DevnetRuntime): Promise<DevnetRuntime> {
  if (wanted !== 'auto') return wanted;
  const { dockerAnswers } = await import('../worker/index.ts');
  return (await dockerAnswers(3000)) ? 'docker' : 'wasm';
}

/** `zeus --home HOME --node URL --json ARGS…` to completion; the parsed JSON answer. */
export function zeusJson<T>(home: string, node: string, args: string[]): T {
  const r = spawnSync(process.execPath, [ZEUS_BIN, '--home', home, '--node', node, '--json', ...args], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(`zeus ${args.slice(0, 2).join(' ')} failed (exit ${r.status}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' ')}`);
  return JSON.parse(r.stdout) as T;
}

async function publishedDigest(c: ZeusClient, name: string): Promise<string | undefined> {
  try {
    return (await c.app(name)).versions.find((v) => v.version === APP_VERSION)?.digest;
  } catch (e) {
    if (e instanceof NodeApiError && e.status === 404) return undefined;
    throw e;
  }
}

/**
 * Builds the sample images (Docker) or the WASI module alone (no Docker) and publishes each as
 * NAME@1 from the developer key, with a small license fee. Already published versions are kept.
 */
export async function publishSampleApps(o: {
  dir: string;
  home: string;
  node: string;
  runtime: DevnetRuntime;
  onProgress: (m: string) => void;
}): Promise<DevnetApp[]> {
  const c = new ZeusClient(o.node);
  const appsDir = join(o.dir, 'apps');
  const apps: DevnetApp[] = [];
  const publish = async (name: string, kind: DevnetApp['kind'], source: string[]): Promise<void> => {
    let digest = await publishedDigest(c, name);
    if (digest) o.onProgress(`app ${name}@${APP_VERSION} already published (${digest.slice(0, 19)}…)`);
    else {
      o.onProgress(`publishing ${name}@${APP_VERSION} from the developer key: pushing it to ${o.node}/v2/ and recording its digest on the chain`);
      digest = zeusJson<{ digest: string }>(o.home, o.node, [
        'app',
        'publish',
        ...source,
        '--from',
        DEVELOPER_KEY,
        '--name',
        name,
        '--version',
        APP_VERSION,
        '--license-fee',
        SAMPLE_LICENSE_FEE,
        '--wait',
      ]).digest;
    }
    apps.push({ name, version: APP_VERSION, digest, kind, about: ABOUT[name] ?? kind });
  };
  if (o.runtime === 'docker') {
    o.onProgress(
      `building the sample images with the local Docker engine (${SAMPLE_APPS.map((a) => a.tag).join(', ')}; FROM scratch + busybox, nothing pulled)`,
    );
    const built = buildSampleApps(appsDir);
    for (const a of built.apps) await publish(a.kind === 'wasm' ? 'primes' : a.name, a.kind, [a.tag]);
  } else {
    o.onProgress('no Docker engine: publishing the WASI sample module alone (pushed as a one-layer image without Docker)');
    const built = buildSampleApps(appsDir, { docker: false });
    await publish('primes', 'wasm', ['--wasm', built.wasmPath]);
  }
  return apps;
}

/**
 * Starts worker i (1-based) in the background beside the node whose home it shares (it reads the
 * images that node fetched from the node's blob store), and resolves once it follows the market.
 */
export async function startWorker(o: {
  dir: string;
  index: number;
  home: string;
  node: string;
  runtime: DevnetRuntime;
  onProgress: (m: string) => void;
  signal?: AbortSignal;
}): Promise<DevnetWorker> {
  const name = workerKey(o.index);
  const home = o.home;
  const log = join(o.dir, `${name}.log`);
  const from = existsSync(log) ? readFileSync(log).length : 0;
  const out = openSync(log, 'a');
  const child = spawn(
    process.execPath,
    [ZEUS_BIN, '--home', home, '--node', o.node, 'worker', 'start', '--key', name, '--runtime', o.runtime === 'docker' ? 'docker,wasm' : 'wasm'],
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: process.env,
    },
  );
  child.unref();
  const pid = child.pid!;
  o.onProgress(`worker ${name} (pid ${pid}) is measuring the machine and registering with a bond; log ${log}`);
  const deadline = Date.now() + 120_000;
  try {
    for (;;) {
      const text = readFileSync(log, 'utf8').slice(from);
      const m = /worker (\S+) is following the market/.exec(text);
      if (m) return { name, key: name, address: m[1], home, node: o.node, runtime: o.runtime, pid, log };
      if (!isAlive(pid)) throw new Error(`worker ${name} exited while starting:\n${text.trim().split('\n').slice(-5).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`worker ${name} did not start within 120 s; see ${log}`);
      o.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    // Not recorded in devnet.json yet: nobody else would stop it.
    await stopProcesses([pid]);
    throw e;
  }
}

/**
 * Stops worker processes, then removes the containers and scratch areas of their leases: a
 * worker that stops leaves its containers for its next start to take up, which a devnet that
 * stops never gives it.
 */
export async function stopWorkers(workers: readonly DevnetWorker[]): Promise<number> {
  const stopped = await stopProcesses(workers.map((w) => w.pid));
  const docker = workers.filter((w) => w.runtime === 'docker');
  if (docker.length) {
    // The Docker client loads only when there are workers to stop.
    const [{ DockerRuntime }, { newDockerClient }] = await Promise.all([import('../worker/index.ts'), import('../ddn/index.ts')]);
    const rt = new DockerRuntime();
    for (const w of docker) {
      for (const c of await rt.ofWorker(w.address).catch(() => [])) await rt.remove(newDockerClient().getContainer(c.Id)).catch(() => undefined);
      await rt.sweepScratch(w.address).catch(() => undefined);
    }
  }
  return stopped;
}
