import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capModuleMemory, runWasm, WASM_PAGE_BYTES } from './wasm.ts';
import { CHATTY_CHUNK_BYTES, CHATTY_STDERR, chattyModule, greedyModule, sampleModule, spinModule, sumOfFirstPrimes } from './wasm-sample.ts';

const root = mkdtempSync(join(tmpdir(), 'zeus-wasm-'));
const workDir = join(root, 'runs');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const limits = { workDir, memoryLimitBytes: 4 * 1024 * 1024, wallTimeLimitMs: 5_000 };

// Every file under dir, relative to it: to show a run wrote nothing but its own run directory.
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('wasm runtime', () => {
  it('runs the sample module: the answer in /out and on stdout, usage measured', async () => {
    const result = await runWasm({ ...limits, module: sampleModule(), args: ['primes.wasm', '2000'] });
    const expected = `${sumOfFirstPrimes(2000)}\n`;
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(result.outDir, 'result.txt'), 'utf8')).toBe(expected);
    expect(readFileSync(result.stdout, 'utf8')).toBe(expected);
    expect(readdirSync(result.outDir)).toEqual(['result.txt']);
    expect(result.peakMemoryBytes).toBe(WASM_PAGE_BYTES);
    expect(result.cpuMs).toBeGreaterThan(0);
    expect(result.wallMs).toBeGreaterThan(0);
  });

  it('gives each run a fresh out directory', async () => {
    const a = await runWasm({ ...limits, module: sampleModule(), args: ['primes.wasm', '3'] });
    const b = await runWasm({ ...limits, module: sampleModule(), args: ['primes.wasm', '4'] });
    expect(a.outDir).not.toBe(b.outDir);
    expect(readFileSync(join(a.outDir, 'result.txt'), 'utf8')).toBe('10\n');
    expect(readFileSync(join(b.outDir, 'result.txt'), 'utf8')).toBe('17\n');
  });

  it('kills a module that never returns at the wall-time limit; the host stays up', async () => {
    const started = Date.now();
    const result = await runWasm({ ...limits, module: spinModule(), wallTimeLimitMs: 1000 });
    expect(result.exitCode).toBeNull();
    expect(result.error?.code).toBe('WALL_TIME_LIMIT');
    expect(Date.now() - started).toBeLessThan(5_000);
    // It really spun, on its own thread (a loaded machine gives it a fraction of a core).
    expect(result.cpuMs).toBeGreaterThan(100);
    // the host's event loop and the runtime still work afterwards
    const after = await runWasm({ ...limits, module: sampleModule(), args: ['x', '5'] });
    expect(after.exitCode).toBe(0);
  });

  it('stops a module growing its memory at the cap, with a clear error', async () => {
    const result = await runWasm({ ...limits, module: greedyModule() });
    expect(result.exitCode).toBeNull();
    expect(result.error?.code).toBe('MEMORY_LIMIT');
    expect(result.error?.message).toMatch(/memory at the cap of 4194304 bytes/);
    expect(result.peakMemoryBytes).toBe(4 * 1024 * 1024);
    // the module declares no maximum: a larger cap lets the same module grow further
    const larger = await runWasm({ ...limits, module: greedyModule(), memoryLimitBytes: 8 * 1024 * 1024 });
    expect(larger.error?.code).toBe('MEMORY_LIMIT');
    expect(larger.peakMemoryBytes).toBe(8 * 1024 * 1024);
  });

  it('refuses a module that needs more memory than the cap at start, or that is not wasm', async () => {
    expect(() => capModuleMemory(sampleModule(), 0)).toThrow(/needs 1 pages/);
    const result = await runWasm({ ...limits, module: new TextEncoder().encode('not wasm') });
    expect(result.error?.code).toBe('INVALID_MODULE');
  });

  it('writes no file outside its out directory: a path escaping /out is refused', async () => {
    const before = listFiles(root);
    const result = await runWasm({ ...limits, module: sampleModule('../escape.txt'), args: ['x', '5'] });
    expect(result.exitCode).toBe(76); // WASI errno ENOTCAPABLE, returned by the module as its exit code
    const runDir = join(result.outDir, '..').slice(root.length + 1);
    const added = listFiles(root).filter((file) => !before.includes(file));
    expect(added.every((file) => file.startsWith(`${runDir}/`))).toBe(true);
    expect(added.filter((file) => !file.startsWith(`${runDir}/out/`)).sort()).toEqual(['stderr.log', 'stdin', 'stdout.log'].map((name) => `${runDir}/${name}`));
    expect(readdirSync(result.outDir)).toEqual([]);
  });

  it('keeps at most the log cap of what a module prints, counts the rest exactly, and tells the module all was written', async () => {
    // 64 chunks of 64 KiB on stdout, then a line on stderr; 1 MiB is kept of stdout and stderr together.
    const result = await runWasm({ ...limits, module: chattyModule(64), logCapBytes: 1024 * 1024 });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(readFileSync(result.stdout, 'latin1')).toBe('x'.repeat(1024 * 1024));
    expect(readFileSync(result.stderr, 'utf8')).toBe('');
    expect(result.log).toEqual({ kept: 1024 * 1024, dropped: 64 * CHATTY_CHUNK_BYTES + CHATTY_STDERR.length - 1024 * 1024 });
    // Under the cap everything is kept, stdout and stderr in one file in the order written.
    const logFile = join(root, 'combined.log');
    const all = await runWasm({ ...limits, module: chattyModule(2), logFile });
    expect(all.log).toEqual({ kept: 2 * CHATTY_CHUNK_BYTES + CHATTY_STDERR.length, dropped: 0 });
    expect(readFileSync(logFile, 'latin1')).toBe(`${'x'.repeat(2 * CHATTY_CHUNK_BYTES)}${CHATTY_STDERR}`);
  });
});
