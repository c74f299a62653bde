// The sample apps against the real Docker engine, run the way the worker will run them: read-only root,
// only /out writable (a tmpfs), no network for batch jobs, nothing mounted from the host.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleApps, type BuiltApp } from '../src/cli/sampleApps.ts';
import { runWasm } from '../src/worker/wasm.ts';
import { sumOfFirstPrimes } from '../src/worker/wasm-sample.ts';
import { dockerInstalled, ensureDockerd } from './helpers/docker.ts';

// Without Docker installed the images cannot be built; installed but stopped, the helper starts it.
const hasDocker = dockerInstalled();
const outDir = mkdtempSync(join(tmpdir(), 'zeus-sample-apps-'));
const suffix = randomBytes(4).toString('hex');
const containers: string[] = [];
let apps: BuiltApp[] = [];
let wasmPath = '';

// Docker's tmpfs ignores mode=, so the scratch area is handed to the images' user (nobody) by uid/gid.
const ISOLATED = ['--read-only', '--tmpfs', '/out:uid=65534,gid=65534,size=16m', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

function tagOf(name: string): string {
  const app = apps.find((a) => a.name === name);
  if (app === undefined) throw new Error(`sample app ${name} was not built`);
  return app.tag;
}

/** Runs a batch image's own script, then prints the file it wrote to /out (the tmpfs goes with the container). */
function runBatch(name: string, env: Record<string, string>, output: string): string {
  const container = `zeus-sample-${name}-${suffix}-${containers.length}`;
  containers.push(container);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const script = `/bin/sh /app/run.sh >&2 && cat /out/${output}`;
  return execFileSync(
    'docker',
    ['run', '--rm', '--name', container, ...ISOLATED, '--network', 'none', ...envArgs, '--entrypoint', '/bin/sh', tagOf(name), '-c', script],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
  );
}

function iteratedSha256(seed: string, rounds: number): string {
  let h = seed;
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(h).digest('hex');
  return h;
}

describe.skipIf(!hasDocker)('sample apps', () => {
  beforeAll(() => {
    ensureDockerd();
    ({ apps, wasmPath } = buildSampleApps(outDir));
  });
  afterAll(() => {
    if (containers.length > 0) spawnSync('docker', ['rm', '-f', ...containers], { stdio: 'ignore' });
    rmSync(outDir, { recursive: true, force: true });
  });

  it('builds every image from scratch with no registry, idempotently, as nobody', () => {
    expect(apps.map((a) => a.tag)).toEqual(['zeusnet/sample-mandelbrot:1', 'zeusnet/sample-hash:1', 'zeusnet/sample-web:1', 'zeusnet/sample-wasm:1']);
    const again = buildSampleApps(outDir).apps;
    expect(again.map((a) => a.imageId)).toEqual(apps.map((a) => a.imageId));
    for (const app of apps) {
      const user = execFileSync('docker', ['image', 'inspect', '--format', '{{.Config.User}}', app.tag], { encoding: 'utf8' }).trim();
      expect(user).toBe('65534:65534');
    }
  });

  it('mandelbrot renders a PPM of the requested size, the same bytes every time', () => {
    const ppm = runBatch('mandelbrot', { SIZE: '48' }, 'mandelbrot.ppm');
    const [magic, dims, max, ...rows] = ppm.trimEnd().split('\n');
    expect([magic, dims, max]).toEqual(['P3', '48 48', '255']);
    expect(rows).toHaveLength(48);
    const values = rows.join(' ').split(' ').map(Number);
    expect(values).toHaveLength(48 * 48 * 3);
    expect(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
    expect(values.some((v) => v === 0) && values.some((v) => v > 200)).toBe(true); // inside and outside the set
    expect(runBatch('mandelbrot', { SIZE: '48' }, 'mandelbrot.ppm')).toBe(ppm);
  });

  it('hash gives the same digest on two runs, equal to node:crypto for the same seed and N', () => {
    const env = { SEED: `seed-${suffix}`, N: '150' };
    const first = runBatch('hash', env, 'result.txt');
    expect(runBatch('hash', env, 'result.txt')).toBe(first);
    expect(first).toBe(`${iteratedSha256(env.SEED, 150)}\n`);
  });

  it('a batch job cannot write outside /out', () => {
    const container = `zeus-sample-rofs-${suffix}`;
    containers.push(container);
    const res = spawnSync(
      'docker',
      ['run', '--rm', '--name', container, ...ISOLATED, '--network', 'none', '--entrypoint', '/bin/sh', tagOf('hash'), '-c', 'echo x > /app/x'],
      {
        encoding: 'utf8',
      },
    );
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/Read-only file system|Permission denied/);
  });

  it('web answers HTTP on a published 127.0.0.1 port', async () => {
    const container = `zeus-sample-web-${suffix}`;
    containers.push(container);
    execFileSync('docker', ['run', '-d', '--name', container, ...ISOLATED, '-p', '127.0.0.1::8080', tagOf('web')], { stdio: 'ignore' });
    const port = execFileSync('docker', ['port', container, '8080/tcp'], { encoding: 'utf8' }).trim().split(':').pop();
    let body = '';
    for (let attempt = 0; attempt < 50 && body === ''; attempt++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        expect(res.status).toBe(200);
        body = await res.text();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(body).toContain('Hello from a ZeusNet worker');
  });

  it('the wasm module in the out dir runs in the wasm runtime, and the wasm image holds the same bytes', async () => {
    const result = await runWasm({
      module: readFileSync(wasmPath),
      args: ['primes.wasm', '1000'],
      workDir: join(outDir, 'wasm-runs'),
      memoryLimitBytes: 1024 * 1024,
      wallTimeLimitMs: 5_000,
    });
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(result.outDir, 'result.txt'), 'utf8')).toBe(`${sumOfFirstPrimes(1000)}\n`);
    const container = `zeus-sample-wasm-${suffix}`;
    containers.push(container);
    execFileSync('docker', ['create', '--name', container, tagOf('wasm'), 'none'], { stdio: 'ignore' });
    const tar = execFileSync('docker', ['cp', `${container}:/primes.wasm`, '-']);
    expect(tar.includes(readFileSync(wasmPath))).toBe(true);
  });
});
