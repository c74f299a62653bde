// Runs one WASI module inside a worker thread (started by wasm.ts). Kept in its own thread so the
// host can stop a module that never returns with Worker.terminate(), which interrupts wasm code;
// the main thread's event loop keeps running the worker agent meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { WASI } from 'node:wasi';

export interface ThreadInput {
  module: Uint8Array;
  args: string[];
  env: Record<string, string>;
  outDir: string;
  stdin: number;
  stdout: number;
  stderr: number;
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
  stdout: input.stdout,
  stderr: input.stderr,
  // proc_exit returns the code from start() instead of exiting the whole process
  returnOnExit: true,
});

const module = await WebAssembly.compile(input.module);
const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
const memory = instance.exports.memory;
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
