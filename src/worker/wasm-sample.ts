// biome-ignore-all format: the modules' bodies are instruction listings laid out by hand, a few instructions a line as a disassembler shows them.
// The sample WASM batch module and two misbehaving ones for the wasm runtime's tests, emitted as
// binary bytes by a tiny assembler. No WebAssembly toolchain (clang, wat2wasm, a wasm32 Rust target)
// is assumed on a worker or a developer machine, and the handful of instructions these modules need
// is smaller than any dependency that would assemble them.

const I32 = 0x7f;
const I64 = 0x7e;
const VOID = 0x40; // empty block type

function uleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

function sleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift keeps the sign
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

// The instructions the modules below use (opcodes from the WebAssembly core spec, §5.4).
const op = {
  unreachable: [0x00],
  block: [0x02, VOID],
  loop: [0x03, VOID],
  if: [0x04, VOID],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  call: (fn: number) => [0x10, ...uleb(fn)],
  drop: [0x1a],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32Load: [0x28, 0x02, 0x00],
  i32Load8u: [0x2d, 0x00, 0x00],
  i32Store: [0x36, 0x02, 0x00],
  i32Store8: [0x3a, 0x00, 0x00],
  memoryGrow: [0x40, 0x00],
  i32: (value: number) => [0x41, ...sleb(value)],
  i64: (value: number | bigint) => [0x42, ...sleb(value)],
  i32Eqz: [0x45],
  i32Ne: [0x47],
  i32Eq: [0x46],
  i32LtU: [0x49],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  i64Eqz: [0x50],
  i64Ne: [0x52],
  i64GtU: [0x56],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i64Add: [0x7c],
  i64Mul: [0x7e],
  i64DivU: [0x80],
  i64RemU: [0x82],
  i32WrapI64: [0xa7],
};

interface Import {
  field: string;
  params: number[];
  results: number[];
}

interface ModuleSpec {
  imports: Import[]; // all from wasi_snapshot_preview1
  memory: { min: number; max?: number };
  locals: number[]; // types of _start's locals
  body: number[][];
  data?: { offset: number; bytes: Uint8Array }[];
}

// One WASI command module: the imports, one exported memory, one exported `_start () -> ()`.
function assemble(spec: ModuleSpec): Uint8Array {
  const types = [
    ...spec.imports.map((imp) => [0x60, ...vec(imp.params.map((t) => [t])), ...vec(imp.results.map((t) => [t]))]),
    [0x60, 0x00, 0x00],
  ];
  const startType = types.length - 1;
  const startFn = spec.imports.length;
  const limits =
    spec.memory.max === undefined ? [0x00, ...uleb(spec.memory.min)] : [0x01, ...uleb(spec.memory.min), ...uleb(spec.memory.max)];
  const locals = vec(spec.locals.map((t) => [0x01, t]));
  const code = [...locals, ...spec.body.flat(), ...op.end];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(spec.imports.map((imp, i) => [...name('wasi_snapshot_preview1'), ...name(imp.field), 0x00, ...uleb(i)]))),
    ...section(3, vec([uleb(startType)])),
    ...section(5, vec([limits])),
    ...section(7, vec([[...name('memory'), 0x02, 0x00], [...name('_start'), 0x00, ...uleb(startFn)]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
    ...section(11, vec((spec.data ?? []).map((d) => [0x00, ...op.i32(d.offset), ...op.end, ...uleb(d.bytes.length), ...d.bytes]))),
  ];
  return Uint8Array.from(bytes);
}

const WASI = {
  argsSizesGet: { field: 'args_sizes_get', params: [I32, I32], results: [I32] },
  argsGet: { field: 'args_get', params: [I32, I32], results: [I32] },
  pathOpen: { field: 'path_open', params: [I32, I32, I32, I32, I32, I64, I64, I32, I32], results: [I32] },
  fdWrite: { field: 'fd_write', params: [I32, I32, I32, I32], results: [I32] },
  procExit: { field: 'proc_exit', params: [I32], results: [] },
};

/** What the sample module computes: the sum of the first n primes (its reference for tests and the script). */
export function sumOfFirstPrimes(n: number): bigint {
  let sum = 0n;
  let count = 0;
  for (let candidate = 2; count < n; candidate++) {
    let prime = true;
    for (let d = 2; d * d <= candidate; d++) {
      if (candidate % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) {
      sum += BigInt(candidate);
      count++;
    }
  }
  return sum;
}

export const SAMPLE_DEFAULT_N = 10;

/**
 * The sample batch module: `primes.wasm N` writes the sum of the first N primes (default 10) followed by
 * a newline to stdout and to `/out/<fileName>` (path_open under the first preopen, fd 3). It exits with
 * the WASI errno when it cannot open the file, which is how the tests see a path outside /out refused.
 */
export function sampleModule(fileName = 'result.txt'): Uint8Array {
  const path = new TextEncoder().encode(fileName);
  if (path.length > 300) throw new Error('file name too long for the sample module');
  // Memory layout: 16 path · 64 iovec · 100 argc · 104 argv buffer size · 108 opened fd · 112 bytes written
  // · 200 argv pointers · 700 decimal digits (written backwards from 720) · 1024 argv strings.
  const [argc, p, n, count, c, err] = [0, 1, 2, 3, 4, 5]; // i32 locals
  const [sum, cand, d] = [6, 7, 8]; // i64 locals
  const pos = 9; // i32
  const [fArgsSizes, fArgs, fOpen, fWrite, fExit] = [0, 1, 2, 3, 4];
  const body = [
    op.i32(100), op.i32(104), op.call(fArgsSizes), op.drop,
    op.i32(200), op.i32(1024), op.call(fArgs), op.drop,
    op.i32(SAMPLE_DEFAULT_N), op.set(n),
    op.i32(100), op.i32Load, op.tee(argc), op.i32(2), op.i32GeU, op.if,
    // parse argv[1] as decimal digits, stopping at the first non-digit (the terminating NUL)
    op.i32(0), op.set(n), op.i32(204), op.i32Load, op.set(p),
    op.block, op.loop,
    op.get(p), op.i32Load8u, op.tee(c), op.i32(48), op.i32LtU, op.brIf(1),
    op.get(c), op.i32(57), op.i32GtU, op.brIf(1),
    op.get(n), op.i32(10), op.i32Mul, op.get(c), op.i32(48), op.i32Sub, op.i32Add, op.set(n),
    op.get(p), op.i32(1), op.i32Add, op.set(p), op.br(0),
    op.end, op.end,
    op.end,
    // sum of the first n primes, by trial division
    op.i64(0), op.set(sum), op.i32(0), op.set(count), op.i64(1), op.set(cand),
    op.block, op.loop,
    op.get(count), op.get(n), op.i32GeU, op.brIf(1),
    op.get(cand), op.i64(1), op.i64Add, op.set(cand),
    op.i32(1), op.set(c), op.i64(2), op.set(d),
    op.block, op.loop,
    op.get(d), op.get(d), op.i64Mul, op.get(cand), op.i64GtU, op.brIf(1),
    op.get(cand), op.get(d), op.i64RemU, op.i64Eqz, op.if, op.i32(0), op.set(c), op.br(2), op.end,
    op.get(d), op.i64(1), op.i64Add, op.set(d), op.br(0),
    op.end, op.end,
    op.get(c), op.if, op.get(sum), op.get(cand), op.i64Add, op.set(sum), op.get(count), op.i32(1), op.i32Add, op.set(count), op.end,
    op.br(0),
    op.end, op.end,
    // decimal digits backwards, then a newline at 720
    op.i32(720), op.i32(10), op.i32Store8, op.i32(720), op.set(pos),
    op.loop,
    op.get(pos), op.i32(1), op.i32Sub, op.tee(pos),
    op.get(sum), op.i64(10), op.i64RemU, op.i32WrapI64, op.i32(48), op.i32Add, op.i32Store8,
    op.get(sum), op.i64(10), op.i64DivU, op.tee(sum), op.i64Eqz, op.i32Eqz, op.brIf(0),
    op.end,
    op.i32(64), op.get(pos), op.i32Store,
    op.i32(68), op.i32(721), op.get(pos), op.i32Sub, op.i32Store,
    op.i32(1), op.i32(64), op.i32(1), op.i32(112), op.call(fWrite), op.drop,
    // path_open(preopen fd 3, no symlink follow, path, O_CREAT|O_TRUNC, rights: fd_write, none inherited)
    op.i32(3), op.i32(0), op.i32(16), op.i32(path.length), op.i32(1 | 8), op.i64(1 << 6), op.i64(0), op.i32(0), op.i32(108),
    op.call(fOpen), op.tee(err), op.if, op.get(err), op.call(fExit), op.end,
    op.i32(108), op.i32Load, op.i32(64), op.i32(1), op.i32(112), op.call(fWrite), op.tee(err),
    op.if, op.get(err), op.call(fExit), op.end,
  ];
  return assemble({
    imports: [WASI.argsSizesGet, WASI.argsGet, WASI.pathOpen, WASI.fdWrite, WASI.procExit],
    memory: { min: 1 },
    locals: [I32, I32, I32, I32, I32, I32, I64, I64, I64, I32],
    body,
    data: [{ offset: 16, bytes: path }],
  });
}

/** A module that never returns: for the wall-time limit. */
export function spinModule(): Uint8Array {
  return assemble({ imports: [WASI.procExit], memory: { min: 1 }, locals: [], body: [op.loop, op.br(0), op.end] });
}

/**
 * A module that grows its memory a page at a time and traps when a grow is refused, the way a
 * program's allocator aborts on out-of-memory. It declares no maximum, so only the runtime's cap stops it.
 */
export function greedyModule(): Uint8Array {
  return assemble({
    imports: [WASI.procExit],
    memory: { min: 1 },
    locals: [],
    body: [op.loop, op.i32(1), op.memoryGrow, op.i32(-1), op.i32Eq, op.if, op.unreachable, op.end, op.br(0), op.end],
  });
}

/** A module that traps at once (`unreachable`): a program's crash, for the app's own outcome. */
export function trapModule(): Uint8Array {
  return assemble({ imports: [WASI.procExit], memory: { min: 1 }, locals: [], body: [op.unreachable] });
}

/** Bytes `chattyModule(chunks)` writes to stdout: `chunks` × 64 KiB of "x". */
export const CHATTY_CHUNK_BYTES = 65_536;
/** What `chattyModule` writes to stderr after its stdout. */
export const CHATTY_STDERR = 'finished\n';

/**
 * A module that prints `chunks` × 64 KiB of "x" to stdout, then "finished\n" to stderr: for the
 * cap on what a lease's log keeps (1 GiB is 16384 chunks).
 */
export function chattyModule(chunks: number): Uint8Array {
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > 2 ** 31 - 1) throw new Error('chunks: a positive 32-bit count');
  const [i, j] = [0, 1];
  const fWrite = 0;
  const body = [
    // 64 KiB of "x" at 65536, in the second page
    op.i32(0), op.set(j),
    op.loop,
    op.i32(65_536), op.get(j), op.i32Add, op.i32(120), op.i32Store8,
    op.get(j), op.i32(1), op.i32Add, op.tee(j), op.i32(CHATTY_CHUNK_BYTES), op.i32LtU, op.brIf(0),
    op.end,
    // iovec at 0: that buffer; iovec at 16: the stderr line at 1024
    op.i32(0), op.i32(65_536), op.i32Store, op.i32(4), op.i32(CHATTY_CHUNK_BYTES), op.i32Store,
    op.i32(16), op.i32(1024), op.i32Store, op.i32(20), op.i32(CHATTY_STDERR.length), op.i32Store,
    op.i32(chunks), op.set(i),
    op.loop,
    op.i32(1), op.i32(0), op.i32(1), op.i32(8), op.call(fWrite), op.drop,
    op.get(i), op.i32(1), op.i32Sub, op.tee(i), op.brIf(0),
    op.end,
    op.i32(2), op.i32(16), op.i32(1), op.i32(8), op.call(fWrite), op.drop,
  ];
  return assemble({ imports: [WASI.fdWrite], memory: { min: 2 }, locals: [I32, I32], body, data: [{ offset: 1024, bytes: new TextEncoder().encode(CHATTY_STDERR) }] });
}
