import { join } from 'node:path';
import { buildSampleApps } from '../../src/cli/sampleApps.ts';
import type { ZeusClient, LeaseAnswer, TaskDetailAnswer } from '../../src/sdk/index.ts';
import { waitFor } from './processes.ts';
import { okOut, type WorkerNet } from './workerNet.ts';

// Redundant tasks of the deterministic sample apps on real workers: the Docker `mandelbrot` app
// and the WASI `primes` module (src/cli/sampleApps.ts), published from a dev key, posted with
// redundancy r, followed until every lease has ended.

export const APPS = {
  docker: { app: 'mandelbrot@1', runtime: 'docker', loaded: 'zeus-app/mandelbrot' },
  wasm: { app: 'primes@1', runtime: 'wasm', loaded: 'zeus-app/primes' },
} as const;
export type Runtime = keyof typeof APPS;

/** Builds the sample apps (FROM scratch + busybox; nothing pulled) and publishes mandelbrot@1 and primes@1 from `from`. */
export function publishSampleApps(net: WorkerNet, from: string): void {
  const built = buildSampleApps(join(net.dir, 'apps'));
  const mandelbrot = built.apps.find((a) => a.name === 'mandelbrot')!;
  okOut(net.zeus('--json', 'app', 'publish', mandelbrot.tag, '--from', from, '--name', 'mandelbrot', '--version', '1', '--wait'));
  okOut(net.zeus('--json', 'app', 'publish', '--wasm', built.wasmPath, '--from', from, '--name', 'primes', '--version', '1', '--wait'));
}

/** Posts a batch task of the runtime's sample app with redundancy `r`; its id. */
export function postReplicated(net: WorkerNet, from: string, runtime: Runtime, r: number): string {
  const a = APPS[runtime];
  const out = okOut(
    net.zeus(
      '--json',
      'task',
      'post',
      '--from',
      from,
      '--app',
      a.app,
      '--runtime',
      a.runtime,
      '--cpu',
      '0.5',
      '--memory',
      '64MiB',
      '--max-price',
      '1',
      '--redundancy',
      String(r),
      '--bid-window',
      '6',
      '--wait',
    ),
  );
  return (JSON.parse(out) as { task: string }).task;
}

/** Waits until each of the task's `r` leases has its result on the chain (completed, or already judged). */
export async function waitForResults(c: ZeusClient, task: string, r: number, timeoutMs: number, why: () => string): Promise<TaskDetailAnswer> {
  let t: TaskDetailAnswer | undefined;
  await waitFor(
    async () => {
      t = await c.task(task);
      return t.leases.length === r && t.leases.every((l) => l.resultDigest !== '');
    },
    timeoutMs,
    `${r} results of task ${task.slice(0, 12)}…`,
    250,
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\nleases: ${JSON.stringify(t?.leases.map((l) => [l.state, l.outcome, l.resultDigest.slice(0, 19)]))}\n${why()}`);
  });
  return t!;
}

/** Waits until the task is done (every lease settled, the escrow's rest returned). */
export async function waitForDone(c: ZeusClient, task: string, timeoutMs: number, why: () => string): Promise<TaskDetailAnswer> {
  let t: TaskDetailAnswer | undefined;
  await waitFor(async () => (t = await c.task(task)).state === 'done', timeoutMs, `task ${task.slice(0, 12)}… done`, 250).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\ntask ${t?.state}; leases: ${JSON.stringify(t?.leases.map((l) => [l.state, l.outcome]))}\n${why()}`);
  });
  return t!;
}

/** ZNC balance in base units. */
export async function balanceOf(c: ZeusClient, address: string): Promise<bigint> {
  return BigInt((await c.account(address)).znc.balance);
}

export const digestsOf = (leases: readonly LeaseAnswer[]): string[] => [...new Set(leases.map((l) => l.resultDigest))];
