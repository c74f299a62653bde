// Runs one WASI module inside a worker thread (started by wasm.ts). Kept in its own thread so the
// host can stop a module that never returns with Worker.terminate(), which interrupts wasm code;
// the main thread's event loop keeps running the worker agent meanwhile.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { WASI } from 'node:wasi';

export interface ThreadInput {
  module: Uint8Array;
  args: string[];
  env: Record<string, string>;
  outDir: string;
  stdin: number;
  /** Where the module's stdout and stderr go (the same descriptor for a combined log). */
  stdout: number;
  stderr: number;
  /** What WASI itself gets as fds 1 and 2: every write the module makes to them is done here instead. */
  devNull: number;
  logCapBytes: number;
  /** Float64 × 2: bytes kept, bytes dropped past the cap. */
  logCounts: SharedArrayBuffer;
}

export type ThreadMessage =
  | { kind: 'started'; memoryBytes: number }
  | { kind: 'done'; exitCode: number; cpuMicros: number; memoryBytes: number }
  | { kind: 'trapped'; message: string; cpuMicros: number; memoryBytes: number };

const input = workerData as ThreadInput;
const port = parentPort;
if (port === null) throw new Error('wasm-thread.ts runs only as a worker thread');

const cpuMicros = () => {
  const usage = process.threadCpuUsage();
  return usage.user + usage.system;
};

const wasi = new WASI({
  version: 'preview1',
  args: input.args,
  env: input.env,
  preopens: { '/out': input.outDir },
  stdin: input.stdin,
  // Not the log files: a module's fd_write to 1 and 2 is done below, through the cap; anything
  // else it might do with these descriptors (fd_pwrite, fd_renumber) reaches /dev/null only.
  stdout: input.devNull,
  stderr: input.devNull,
  // proc_exit returns the code from start() instead of exiting the whole process
  returnOnExit: true,
});

const ERRNO_SUCCESS = 0;
const ERRNO_FAULT = 21;
const ERRNO_IO = 29;
const counts = new Float64Array(input.logCounts);
let exported: WebAssembly.Memory | undefined;

/**
 * fd_write(fd, iovs, iovs_len, nwritten) for stdout and stderr: the first logCapBytes of output go
 * to the log, the rest is counted; the module is told all of it was written, as a pipe to a
 * reader that drops it would.
 */
function capturedWrite(fd: number, iovs: number, iovsLen: number, nwritten: number): number {
  if (!exported) return ERRNO_FAULT;
  const buffer = exported.buffer;
  if (iovs + iovsLen * 8 > buffer.byteLength || nwritten + 4 > buffer.byteLength) return ERRNO_FAULT;
  const view = new DataView(buffer);
  const target = fd === 1 ? input.stdout : input.stderr;
  let total = 0;
  for (let i = 0; i < iovsLen; i++) {
    const ptr = view.getUint32(iovs + i * 8, true);
    const len = view.getUint32(iovs + i * 8 + 4, true);
    if (ptr + len > buffer.byteLength) return ERRNO_FAULT;
    const take = Math.min(len, input.logCapBytes - counts[0]);
    try {
      for (let at = 0; at < take; ) at += writeSync(target, new Uint8Array(buffer, ptr + at, take - at));
    } catch {
      return ERRNO_IO;
    }
    counts[0] += take;
    counts[1] += len - take;
    total += len;
  }
  view.setUint32(nwritten, total >>> 0, true);
  return ERRNO_SUCCESS;
}

const wasiImport = (wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, (...a: number[]) => number> }).wasi_snapshot_preview1;
const imports = {
  wasi_snapshot_preview1: {
    ...wasiImport,
    fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number): number =>
      fd === 1 || fd === 2 ? capturedWrite(fd, iovs, iovsLen, nwritten) : wasiImport.fd_write(fd, iovs, iovsLen, nwritten),
  },
};

const module = await WebAssembly.compile(input.module);
const instance = await WebAssembly.instantiate(module, imports as WebAssembly.Imports);
const memory = instance.exports.memory;
if (memory instanceof WebAssembly.Memory) exported = memory;
// Memory only grows, so its size when the module stops is its peak.
const memoryBytes = () => (memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0);
port.postMessage({ kind: 'started', memoryBytes: memoryBytes() } satisfies ThreadMessage);
try {
  const exitCode = wasi.start(instance);
  port.postMessage({ kind: 'done', exitCode, cpuMicros: cpuMicros(), memoryBytes: memoryBytes() } satisfies ThreadMessage);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  port.postMessage({ kind: 'trapped', message, cpuMicros: cpuMicros(), memoryBytes: memoryBytes() } satisfies ThreadMessage);
}
