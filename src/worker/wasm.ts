// The worker's `wasm` runtime: runs a WASI (preview1) command module in a worker thread with a memory
// cap, a wall-time limit, stdio captured to files and a fresh host directory preopened as /out. It needs
// no container engine, which makes it the embedded default where no Docker engine is reachable.
//
// Why the memory cap is enforced by rewriting the module: a Worker's resourceLimits bound the V8 heap,
// not WebAssembly memories, and a module that defines its own memory can grow it up to 4 GiB unless
// the module itself declares a maximum. So before compiling, the runtime sets the maximum in the
// module's memory section to min(declared maximum, cap); memory.grow past it then returns -1 inside the
// module, exactly as on a machine that is out of memory. Modules that import their memory are refused
// (WASI commands define and export theirs), so there is no memory the cap does not reach.
//
// Its output is capped the same way as a container's (leaseLog.ts): the thread does the module's
// writes to stdout and stderr itself (wasm-thread.ts), keeping the first `logCapBytes` in the log
// file and counting the rest; WASI itself only ever sees /dev/null as fds 1 and 2.
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_LOG_CAP_BYTES, type LogCounts } from './leaseLog.ts';
import type { ThreadInput, ThreadMessage } from './wasm-thread.ts';

export const WASM_PAGE_BYTES = 65_536;

export type WasmErrorCode = 'INVALID_MODULE' | 'START_FAILED' | 'WALL_TIME_LIMIT' | 'MEMORY_LIMIT' | 'TRAP' | 'STOPPED';

export class WasmModuleError extends Error {
  readonly code = 'INVALID_MODULE';
}

export interface WasmRunOptions {
  module: Uint8Array;
  /** argv[0] included, as WASI passes it to the module. */
  args?: string[];
  env?: Record<string, string>;
  /** A file whose contents become the module's stdin; empty when absent. */
  stdinPath?: string;
  /** Where this run's directory (out/, stdout.log, stderr.log) is created; a fresh one per run. */
  workDir: string;
  /** One file stdout and stderr both go to, in the order written, instead of the run directory's stdout.log and stderr.log. */
  logFile?: string;
  /** Bytes of output (stdout and stderr together) kept; the rest is counted and dropped. Default 8 MiB. */
  logCapBytes?: number;
  /** Float64 × 2 on a SharedArrayBuffer, kept up to date while it runs: bytes kept, bytes dropped. */
  logCounter?: Float64Array;
  memoryLimitBytes: number;
  wallTimeLimitMs: number;
  /** Stops the module early (its lease was cancelled or ended); the run ends as STOPPED. */
  signal?: AbortSignal;
}

export interface WasmRunResult {
  /** The module's exit code; null when it did not exit (killed at the wall-time limit, or trapped). */
  exitCode: number | null;
  error?: { code: WasmErrorCode; message: string };
  wallMs: number;
  /** CPU time of the thread that ran the module (user + system). */
  cpuMs: number;
  /** The module's memory when it stopped; wasm memory never shrinks, so this is its peak. */
  peakMemoryBytes: number;
  /** Paths of the files holding the module's stdout and stderr. */
  stdout: string;
  stderr: string;
  /** The host directory the module saw as /out: its result. */
  outDir: string;
  /** Bytes of output kept in the files and dropped past the cap. */
  log: LogCounts;
}

function readUleb(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let at = offset;
  for (;;) {
    if (at >= bytes.length) throw new WasmModuleError('truncated module');
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, at];
    if (shift > 35) throw new WasmModuleError('integer too long in module');
  }
}

function writeUleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

interface Limits {
  flags: number;
  min: number;
  max?: number;
}

function readLimits(bytes: Uint8Array, offset: number): [Limits, number] {
  const flags = bytes[offset];
  let [min, at] = readUleb(bytes, offset + 1);
  let max: number | undefined;
  if (flags & 1) [max, at] = readUleb(bytes, at);
  return [{ flags, min, max }, at];
}

function skipName(bytes: Uint8Array, offset: number): number {
  const [length, at] = readUleb(bytes, offset);
  return at + length;
}

/** Refuses modules that import a memory (the cap could not reach it). */
function checkImports(bytes: Uint8Array, start: number): void {
  let [count, at] = readUleb(bytes, start);
  for (; count > 0; count--) {
    at = skipName(bytes, skipName(bytes, at));
    const kind = bytes[at++];
    if (kind === 0x00)
      [, at] = readUleb(bytes, at); // function: type index
    else if (kind === 0x01)
      [, at] = readLimits(bytes, at + 1); // table: reftype, limits
    else if (kind === 0x02) throw new WasmModuleError('the module imports its memory; only modules that define their memory can be capped');
    else if (kind === 0x03)
      at += 2; // global: valtype, mutability
    else if (kind === 0x04)
      [, at] = readUleb(bytes, at + 1); // tag: attribute, type index
    else throw new WasmModuleError(`unknown import kind ${kind}`);
  }
}

/**
 * Returns a copy of the module whose memories declare a maximum of at most `capPages`. Throws
 * WasmModuleError for a module that is malformed, imports memory, uses shared or 64-bit memory, or
 * needs more than the cap to start.
 */
export function capModuleMemory(module: Uint8Array, capPages: number): Uint8Array {
  if (!WebAssembly.validate(module)) throw new WasmModuleError('not a valid WebAssembly module');
  const out: number[] = [...module.subarray(0, 8)];
  let at = 8;
  while (at < module.length) {
    const id = module[at];
    const [size, contentStart] = readUleb(module, at + 1);
    const contentEnd = contentStart + size;
    if (id === 2) checkImports(module, contentStart);
    if (id !== 5) {
      out.push(...module.subarray(at, contentEnd));
      at = contentEnd;
      continue;
    }
    let [count, p] = readUleb(module, contentStart);
    const content = writeUleb(count);
    for (; count > 0; count--) {
      const [limits, next] = readLimits(module, p);
      p = next;
      if (limits.flags & ~1) throw new WasmModuleError('shared or 64-bit memories are not supported');
      if (limits.min > capPages) {
        throw new WasmModuleError(`the module needs ${limits.min} pages of memory at start; the cap is ${capPages}`);
      }
      content.push(0x01, ...writeUleb(limits.min), ...writeUleb(Math.min(limits.max ?? capPages, capPages)));
    }
    out.push(5, ...writeUleb(content.length), ...content);
    at = contentEnd;
  }
  return Uint8Array.from(out);
}

/** Runs one module to completion, to a trap, or to the wall-time limit. Never throws for what the module does. */
export async function runWasm(options: WasmRunOptions): Promise<WasmRunResult> {
  const capPages = Math.floor(options.memoryLimitBytes / WASM_PAGE_BYTES);
  mkdirSync(options.workDir, { recursive: true });
  const runDir = mkdtempSync(join(options.workDir, 'run-'));
  const outDir = join(runDir, 'out');
  mkdirSync(outDir);
  const stdoutPath = options.logFile ?? join(runDir, 'stdout.log');
  const stderrPath = options.logFile ?? join(runDir, 'stderr.log');
  const base = { stdout: stdoutPath, stderr: stderrPath, outDir };
  writeFileSync(stdoutPath, '');
  writeFileSync(stderrPath, '');
  // Written by the thread only (kept, dropped); read here, also after the thread was terminated.
  const counts = options.logCounter ?? new Float64Array(new SharedArrayBuffer(16));
  if (!(counts.buffer instanceof SharedArrayBuffer) || counts.length !== 2) throw new Error('logCounter: a Float64Array of 2 on a SharedArrayBuffer');
  counts.fill(0);
  const log = (): LogCounts => ({ kept: counts[0], dropped: counts[1] });

  let module: Uint8Array;
  try {
    module = capModuleMemory(options.module, capPages);
  } catch (error) {
    if (!(error instanceof WasmModuleError)) throw error;
    const result = { exitCode: null, wallMs: 0, cpuMs: 0, peakMemoryBytes: 0, log: log(), ...base };
    return { ...result, error: { code: 'INVALID_MODULE', message: error.message } };
  }

  let stdinPath = options.stdinPath;
  if (stdinPath === undefined) {
    stdinPath = join(runDir, 'stdin');
    writeFileSync(stdinPath, '');
  }
  // The descriptors are the process's, opened here so they are closed here even when the thread is killed.
  const stdout = openSync(stdoutPath, 'a');
  const fds = {
    stdin: openSync(stdinPath, 'r'),
    stdout,
    stderr: options.logFile === undefined ? openSync(stderrPath, 'a') : stdout,
    devNull: openSync('/dev/null', 'r+'),
  };
  const input: ThreadInput = {
    module,
    args: options.args ?? ['module.wasm'],
    env: options.env ?? {},
    outDir,
    ...fds,
    logCapBytes: options.logCapBytes ?? DEFAULT_LOG_CAP_BYTES,
    logCounts: counts.buffer as SharedArrayBuffer,
  };
  const started = performance.now();
  const worker = new Worker(new URL('./wasm-thread.ts', import.meta.url), {
    workerData: input,
    // Bounds the thread's own JS heap (WASI glue); the wasm memory is bounded by the rewritten module.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    // node:wasi warns that it is experimental on every run; that is noise in the worker's logs
    execArgv: ['--disable-warning=ExperimentalWarning'],
  });
  let memoryBytes = 0;
  const outcome = await new Promise<Omit<WasmRunResult, keyof typeof base | 'wallMs' | 'peakMemoryBytes' | 'log'>>((resolve) => {
    let timedOut = false;
    const kill = (code: WasmErrorCode, message: string): void => {
      if (timedOut) return;
      timedOut = true;
      clearTimeout(timer);
      // Read the thread's CPU time before terminating it; afterwards it is gone.
      void worker
        .cpuUsage()
        .catch(() => ({ user: 0, system: 0 }))
        .then(async (usage) => {
          await worker.terminate();
          resolve({ exitCode: null, cpuMs: (usage.user + usage.system) / 1000, error: { code, message } });
        });
    };
    const timer = setTimeout(() => kill('WALL_TIME_LIMIT', `killed after the wall-time limit of ${options.wallTimeLimitMs} ms`), options.wallTimeLimitMs);
    if (options.signal?.aborted) kill('STOPPED', 'stopped before it ended');
    options.signal?.addEventListener('abort', () => kill('STOPPED', 'stopped before it ended'), { once: true });
    worker.on('message', (reply: ThreadMessage) => {
      memoryBytes = reply.memoryBytes;
      if (reply.kind === 'started') return;
      clearTimeout(timer);
      const cpuMs = reply.cpuMicros / 1000;
      if (reply.kind === 'done') resolve({ exitCode: reply.exitCode, cpuMs });
      else if (memoryBytes + WASM_PAGE_BYTES > capPages * WASM_PAGE_BYTES) {
        // A grow was refused at the cap and the module gave up: report the cap, not a bare trap.
        const message = `the module trapped (${reply.message}) with its memory at the cap of ${options.memoryLimitBytes} bytes`;
        resolve({ exitCode: null, cpuMs, error: { code: 'MEMORY_LIMIT', message } });
      } else resolve({ exitCode: null, cpuMs, error: { code: 'TRAP', message: reply.message } });
    });
    worker.on('error', (error: Error) => {
      clearTimeout(timer);
      resolve({ exitCode: null, cpuMs: 0, error: { code: 'START_FAILED', message: error.message } });
    });
    // A thread that ends without a result would otherwise be reported only at the wall-time limit.
    worker.on('exit', () => {
      if (timedOut) return; // terminated by the timer, which reports the run itself
      clearTimeout(timer);
      resolve({ exitCode: null, cpuMs: 0, error: { code: 'START_FAILED', message: 'the module thread exited without a result' } });
    });
  });
  const wallMs = performance.now() - started;
  await worker.terminate();
  for (const fd of new Set(Object.values(fds))) closeSync(fd);
  return { ...outcome, wallMs, peakMemoryBytes: memoryBytes, log: log(), ...base };
}
