import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { DiskBlobStore, type Digest, type ImageJob } from '../ddn/index.ts';
import { droppedNote, readLogTail, type LogCounts, type LogProgress, type LogTarget } from './leaseLog.ts';
import { runWasm, type WasmErrorCode, type WasmRunResult } from './wasm.ts';
import { scanResult } from './canonicalResult.ts';
import type { ResultFiles, StatsSample, Workload, WorkloadExit } from './workload.ts';

// The wasm runtime as a lease's workload. A wasm app is published like any app, as an OCI image
// (FROM scratch, the module in a layer, its path in the `org.zeusnet.module` label), so it is
// delivered and verified by the DDN like a container image; the worker then reads the module out
// of the verified layers in its node's blob store, with no container engine anywhere.

export const MODULE_LABEL = 'org.zeusnet.module';

/**
 * How a run that did not exit by itself ended, as the app's own outcome: at its memory cap, at its
 * wall-time limit (the task's max hours), or trapped (an invalid module counts as one: it is the
 * app's image). STOPPED (the worker stopped it) and START_FAILED (the runtime's thread) are not the app's.
 */
const APP_CAUSE_OF: Partial<Record<WasmErrorCode, WorkloadExit['cause']>> = {
  MEMORY_LIMIT: 'memory',
  WALL_TIME_LIMIT: 'time',
  TRAP: 'trap',
  INVALID_MODULE: 'trap',
};

interface ImageConfig {
  config?: { Labels?: Record<string, string> | null; Cmd?: string[] | null; Entrypoint?: string[] | null };
}

async function fileInLayer(file: string, wanted: string): Promise<Buffer | undefined> {
  const raw = readFileSync(file);
  // Layers are gzip tars or plain tars; the magic bytes say which.
  const source = raw[0] === 0x1f && raw[1] === 0x8b ? Readable.from([raw]).pipe(createGunzip()) : Readable.from([raw]);
  const extract = tar.extract();
  let found: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      const name = h.name.replace(/^\.?\//, '');
      stream.on('data', (c: unknown) => {
        if (name === wanted) chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (name === wanted && h.type === 'file') found = Buffer.concat(chunks);
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    source.on('error', reject);
  });
  source.pipe(extract);
  await done;
  return found;
}

/** The module and its arguments from a fetched image in the node's blob store at `nodeHome`. */
export async function wasmModuleOf(nodeHome: string, job: ImageJob): Promise<{ module: Uint8Array; args: string[] }> {
  const store = await DiskBlobStore.open(join(nodeHome, 'ddn'));
  const path = async (d: Digest): Promise<string> => {
    const f = await store.path(d);
    if (!f) throw new Error(`blob ${d} is not in the node's store`);
    return f;
  };
  if (!job.config) throw new Error(`the fetch of ${job.digest} named no config blob`);
  const config = JSON.parse(readFileSync(await path(job.config), 'utf8')) as ImageConfig;
  const modulePath = config.config?.Labels?.[MODULE_LABEL];
  if (!modulePath) throw new Error(`the image has no ${MODULE_LABEL} label naming its module: it is not a wasm app`);
  const wanted = modulePath.replace(/^\//, '');
  // The last layer that has the file wins, as in a container's file system.
  let module: Buffer | undefined;
  for (const layer of job.layers ?? []) module = (await fileInLayer(await path(layer), wanted)) ?? module;
  if (!module) throw new Error(`no layer of the image holds ${modulePath}`);
  const args = [modulePath, ...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
  return { module, args };
}

export interface WasmLaunch {
  module: Uint8Array;
  args: string[];
  env: Record<string, string>;
  /** The lease's directory: the run's files go under it. */
  workDir: string;
  /** The lease's log: stdout and stderr, in the order written, up to its cap. */
  log: LogTarget;
  memoryLimitBytes: number;
  wallTimeLimitMs: number;
}

/** A WASI module run for a lease. It lives in this process: a restarted agent runs it again. */
export function startWasm(o: WasmLaunch): Workload {
  const abort = new AbortController();
  const counter = new Float64Array(new SharedArrayBuffer(16));
  const run = runWasm({
    module: o.module,
    args: o.args,
    env: o.env,
    workDir: o.workDir,
    memoryLimitBytes: o.memoryLimitBytes,
    wallTimeLimitMs: o.wallTimeLimitMs,
    signal: abort.signal,
    logFile: o.log.file,
    logCapBytes: o.log.capBytes,
    logCounter: counter,
  });
  let logEnded = false;
  // The note of what was dropped closes the log once, when the run ends.
  const logsDone: Promise<LogCounts> = run.then((r) => {
    logEnded = true;
    if (r.log.dropped > 0) {
      const last = readLogTail(o.log.file, 1)?.bytes[0] ?? 0x0a;
      appendFileSync(o.log.file, `${last === 0x0a ? '' : '\n'}${droppedNote(r.log.dropped, o.log.capBytes)}`);
    }
    return r.log;
  });
  let ended: WasmRunResult | undefined;
  const exited: Promise<WorkloadExit> = run.then((r) => {
    ended = r;
    if (r.exitCode !== null) return { code: r.exitCode };
    const cause = r.error ? APP_CAUSE_OF[r.error.code] : undefined;
    return { code: null, reason: `${r.error?.code ?? 'ERROR'}: ${r.error?.message ?? 'no reason given'}`, ...(cause ? { cause } : {}) };
  });
  const result = (): WasmRunResult => {
    if (!ended) throw new Error('the module is still running');
    return ended;
  };
  return {
    id: `wasm:${o.workDir}`,
    endpoint: '',
    exited,
    // The thread's cpu time and peak memory are known when it ends; while it runs only wall time counts.
    sample: async (): Promise<StatsSample | undefined> =>
      ended ? { cpuNanos: BigInt(Math.round(ended.cpuMs * 1e6)), memoryBytes: ended.peakMemoryBytes } : undefined,
    stop: async (): Promise<void> => {
      abort.abort();
      await exited;
    },
    logsDone: () => logsDone,
    logCounts: (): LogProgress => ({ kept: counter[0], dropped: counter[1], done: logEnded }),
    // The module's /out is a host directory already: nothing to unpack. Its size is checked here
    // (the agent scans it again when archiving), as the engine's unpacking checks a container's.
    resultFiles: async (_staging: string, limitBytes: number): Promise<ResultFiles> => {
      const dir = result().outDir;
      scanResult(dir, limitBytes);
      return { dir, dropped: [] };
    },
    remove: async (): Promise<void> => {
      abort.abort();
      const r = await run;
      rmSync(join(r.outDir, '..'), { recursive: true, force: true });
    },
  };
}
