import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CodecError, decode, decodeList, encode, encodeList, type Infer, type ObjectSchema } from './codec.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8Len = (s: string): number => Buffer.byteLength(s, 'utf8');

// --- schemas covering every type -------------------------------------------------------

const Inner = {
  $id: 'test/inner',
  fields: {
    n: { id: 1, type: 'uint32' },
    tags: { id: 2, type: { array: 'uint32' } },
    blob: { id: 3, type: 'bytes', max: 8 },
  },
} as const satisfies ObjectSchema;

// Arrays are interleaved with scalars so that "absent array" handling is exercised everywhere.
const All = {
  $id: 'test/all',
  fields: {
    u32: { id: 1, type: 'uint32' },
    nums: { id: 2, type: { array: 'uint64', max: 8 } },
    u64: { id: 3, type: 'uint64' },
    blobs: { id: 4, type: { array: 'bytes', max: 5 }, max: 6 },
    flag: { id: 5, type: 'bool' },
    hash: { id: 6, type: 'bytes', length: 4 },
    flags: { id: 7, type: { array: 'bool' } },
    data: { id: 8, type: 'bytes', max: 16 },
    label: { id: 9, type: 'string', max: 12 },
    inner: { id: 10, type: Inner },
    items: { id: 11, type: { array: Inner, max: 4 } },
    hashes: { id: 12, type: { array: 'bytes' }, length: 2 },
  },
} as const satisfies ObjectSchema;

// Sparse field ids (gaps in the numbering) and nothing but arrays.
const Arrays = {
  $id: 'test/arrays',
  fields: {
    a: { id: 3, type: { array: 'uint32' } },
    b: { id: 5, type: { array: 'string' }, max: 4 },
    c: { id: 20, type: { array: Inner } },
    d: { id: 21, type: { array: 'uint32', length: 2 } },
    e: { id: 22, type: { array: 'bytes', max: 3 }, length: 1 },
  },
} as const satisfies ObjectSchema;

// Small schema used for the hand-written wire-format cases below.
// keys: a=0x08 b=0x10 c=0x18 d=0x22 e=0x2a f=0x32
const S = {
  $id: 'test/s',
  fields: {
    a: { id: 1, type: 'uint32' },
    b: { id: 2, type: 'uint64' },
    c: { id: 3, type: 'bool' },
    d: { id: 4, type: 'bytes', length: 2 },
    e: { id: 5, type: 'string', max: 3 },
    f: { id: 6, type: { array: 'uint32' } },
  },
} as const satisfies ObjectSchema;

const Nest = {
  $id: 'test/nest',
  fields: { x: { id: 1, type: { $id: 'test/nest/in', fields: { y: { id: 1, type: 'uint32' } } } }, z: { id: 2, type: 'bool' } },
} as const satisfies ObjectSchema;

// --- arbitraries -----------------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
// Any code points (no lone surrogates), cut to at most maxBytes of UTF-8, with a leading
// BOM mixed in on purpose.
const str = (maxBytes: number): fc.Arbitrary<string> =>
  fc
    .tuple(fc.boolean(), fc.oneof(fc.string({ unit: 'binary', maxLength: maxBytes }), fc.string({ unit: 'grapheme-ascii', maxLength: maxBytes })))
    .map(([bom, s]) => {
      let out = '';
      for (const ch of bom ? `\uFEFF${s}` : s) {
        if (utf8Len(out + ch) > maxBytes) break;
        out += ch;
      }
      return out;
    });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });

const innerArb: fc.Arbitrary<Infer<typeof Inner>> = fc.record(
  {
    n: u32,
    tags: fc.array(u32, { maxLength: 4 }),
    blob: bytes(8),
  },
  { noNullPrototype: true },
);

const allArb: fc.Arbitrary<Infer<typeof All>> = fc.record(
  {
    u32,
    nums: fc.array(u64, { maxLength: 8 }),
    u64,
    blobs: fc.array(bytes(6), { maxLength: 5 }),
    flag: fc.boolean(),
    hash: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    flags: fc.array(fc.boolean(), { maxLength: 6 }),
    data: bytes(16),
    label: str(12),
    inner: innerArb,
    items: fc.array(innerArb, { maxLength: 4 }),
    hashes: fc.array(fc.uint8Array({ minLength: 2, maxLength: 2 }), { maxLength: 3 }),
  },
  { noNullPrototype: true },
);

const arraysArb: fc.Arbitrary<Infer<typeof Arrays>> = fc.record(
  {
    a: fc.array(u32, { maxLength: 5 }),
    b: fc.array(str(4), { maxLength: 3 }),
    c: fc.array(innerArb, { maxLength: 3 }),
    d: fc.array(u32, { minLength: 2, maxLength: 2 }),
    e: fc.array(fc.uint8Array({ minLength: 1, maxLength: 1 }), { maxLength: 3 }),
  },
  { noNullPrototype: true },
);

/** Either a CodecError, or the bytes are canonical: they re-encode to exactly themselves. */
function expectCanonicalOrCodecError(schema: ObjectSchema, b: Uint8Array): boolean {
  let v: unknown;
  try {
    v = decode(schema, b);
  } catch (e) {
    if (!(e instanceof CodecError)) throw new Error(`non-CodecError thrown: ${String(e)}`);
    return false;
  }
  const again = encode(schema, v as Infer<ObjectSchema>);
  if (toHex(again) !== toHex(b)) throw new Error(`accepted non-canonical ${toHex(b)} (canonical ${toHex(again)})`);
  return true;
}

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
);

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const out = Array.from(b);
  if (m.kind === 'extend') return new Uint8Array([...out, ...m.extra]);
  if (out.length === 0) return new Uint8Array(m.kind === 'insert' ? [m.byte] : []);
  const at = m.at % (m.kind === 'insert' ? out.length + 1 : out.length);
  if (m.kind === 'set') out[at] = m.byte;
  else if (m.kind === 'insert') out.splice(at, 0, m.byte);
  else if (m.kind === 'delete') out.splice(at, 1);
  else out.length = at;
  return new Uint8Array(out);
}

const cases = [
  { name: 'All', schema: All as ObjectSchema, arb: allArb as fc.Arbitrary<unknown> },
  { name: 'Arrays', schema: Arrays as ObjectSchema, arb: arraysArb as fc.Arbitrary<unknown> },
  { name: 'Inner', schema: Inner as ObjectSchema, arb: innerArb as fc.Arbitrary<unknown> },
];

describe('codec properties', () => {
  for (const { name, schema, arb } of cases) {
    const enc = (v: unknown): Uint8Array => encode(schema, v as Infer<ObjectSchema>);

    it(`${name}: decode(encode(x)) deep-equals x`, () => {
      fc.assert(
        fc.property(arb, (x) => {
          expect(decode(schema, enc(x))).toStrictEqual(x);
        }),
        { numRuns: 500 },
      );
    });

    it(`${name}: encoding is injective and deterministic`, () => {
      fc.assert(
        fc.property(arb, arb, (x, y) => {
          const ex = enc(x);
          expect(toHex(enc(x))).toBe(toHex(ex));
          expect(toHex(ex) === toHex(enc(y))).toBe(isDeepStrictEqual(x, y));
        }),
        { numRuns: 300 },
      );
    });

    it(`${name}: mutated, truncated and extended encodings are rejected or canonical`, () => {
      fc.assert(
        fc.property(arb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (x, ms) => {
          let b = enc(x);
          for (const m of ms) b = mutate(b, m);
          expectCanonicalOrCodecError(schema, b);
        }),
        { numRuns: 2000 },
      );
    });

    it(`${name}: random byte strings are rejected or canonical`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
          expectCanonicalOrCodecError(schema, b);
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('encode(decode(b)) === b for every b that decodes (inputs biased towards decodable)', () => {
    // Each field of S is drawn from valid and invalid variants; then fields may be swapped
    // and junk spliced in, so that a good fraction of the inputs decodes.
    const variants = [
      ['0801', '0800', '08ffffffff0f', '088100', '0a0101', ''],
      ['1000', '1002', '10ffffffffffffffffff01', '10ffffffffffffffffff02', '1080808080808080808001', ''],
      ['1801', '1800', '1802', ''],
      ['2202aabb', '22020000', '2202aa', '2203aabbcc', '2000', ''],
      ['2a00', '2a0161', '2a03efbbbf', '2a02c3a9', '2a01ff', '2a0461626364', '2a03eda080', ''],
      ['', '', '320105', '32020506', '3200', '32020580', '3205ffffffff0f', '3201053201'],
    ];
    const arb = fc.record({
      parts: fc.tuple(...variants.map((v) => fc.constantFrom(...v))),
      swap: fc.option(fc.tuple(fc.nat(5), fc.nat(5))),
      junk: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 3 }))),
    });
    let decoded = 0;
    fc.assert(
      fc.property(arb, ({ parts, swap, junk }) => {
        const ps: string[] = [...parts];
        if (swap) [ps[swap[0]], ps[swap[1]]] = [ps[swap[1]], ps[swap[0]]];
        let b = hex(ps.join(''));
        if (junk) b = mutate(b, { kind: 'insert', at: junk[0], byte: junk[1][0] });
        if (expectCanonicalOrCodecError(S, b)) decoded++;
      }),
      { numRuns: 5000 },
    );
    expect(decoded).toBeGreaterThan(0);
  });
});

// --- hand-written wire-format cases ------------------------------------------------------

const valid = '0801 1002 1801 2202aabb 2a0161 32020506';
const validValue: Infer<typeof S> = { a: 1, b: 2n, c: true, d: hex('aabb'), e: 'a', f: [5, 6] };

const baseAll: Infer<typeof All> = {
  u32: 7,
  nums: [],
  u64: 9n,
  blobs: [],
  flag: false,
  hash: hex('01020304'),
  flags: [],
  data: new Uint8Array(),
  label: '',
  inner: { n: 0, tags: [], blob: new Uint8Array() },
  items: [],
  hashes: [],
};

function rejects(schema: ObjectSchema, h: string, msg?: RegExp): void {
  let err: unknown;
  try {
    decode(schema, hex(h));
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${h} to be rejected`).toBeInstanceOf(CodecError);
  if (msg) expect((err as Error).message).toMatch(msg);
}

describe('codec wire format', () => {
  it('encodes a known value to known bytes and back', () => {
    expect(toHex(encode(S, validValue))).toBe(valid.replace(/ /g, ''));
    expect(decode(S, hex(valid))).toStrictEqual(validValue);
  });

  it('omits empty arrays and encodes boundary values', () => {
    const v = { a: 0xffffffff, b: (1n << 64n) - 1n, c: false, d: hex('0000'), e: '', f: [] };
    const h = '08ffffffff0f 10ffffffffffffffffff01 1800 22020000 2a00'.replace(/ /g, '');
    expect(toHex(encode(S, v))).toBe(h);
    expect(decode(S, hex(h))).toStrictEqual(v);
  });

  it("encodes and decodes a list of objects from its items' own encodings, as encode and decode do", () => {
    const List = { $id: 'test/list', fields: { items: { id: 1, type: { array: Inner, max: 3 } } } } as const satisfies ObjectSchema;
    const items = [
      { n: 1, tags: [2, 3], blob: hex('aa') },
      { n: 300, tags: [], blob: new Uint8Array(8) },
    ];
    const whole = encode(List, { items });
    expect(
      toHex(
        encodeList(
          List,
          items.map((i) => encode(Inner, i)),
        ),
      ),
    ).toBe(toHex(whole));
    expect(encodeList(List, [])).toEqual(encode(List, { items: [] }));
    const { value, items: parts } = decodeList(List, whole);
    expect(value).toStrictEqual(decode(List, whole));
    expect(parts.map(toHex)).toEqual(items.map((i) => toHex(encode(Inner, i))));
    expect(() =>
      encodeList(
        List,
        Array.from({ length: 4 }, () => encode(Inner, items[0])),
      ),
    ).toThrow(/^test\/list\.items: length 4 exceeds maximum 3$/);
    expect(() => encodeList(Nest, [])).toThrow(/not a single list of objects/);
  });

  it('names the value an error is about by its full path, nested objects and array items included', () => {
    const inner = (n: unknown, blob = new Uint8Array()) => ({ n, tags: [], blob }) as unknown as Infer<typeof Inner>;
    const arr = { a: [], b: [], c: [inner(1), inner(2), inner(-1)], d: [1, 2], e: [] };
    expect(() => encode(Arrays, arr)).toThrow(/^test\/arrays\.c\[2\]\.n: expected uint32$/);
    expect(() => encode(Arrays, { ...arr, c: [inner(1, new Uint8Array(9))] })).toThrow(/^test\/arrays\.c\[0\]\.blob: length 9 exceeds maximum 8$/);
    expect(() => encode(Arrays, { ...arr, c: [], d: [1] })).toThrow(/^test\/arrays\.d: length must be 2, is 1$/);
    expect(() => encode(Nest, { x: { y: 'no' }, z: true } as unknown as Infer<typeof Nest>)).toThrow(/^test\/nest\.x\.y: expected uint32$/);
    // The same path when decoding.
    expect(() => decode(Nest, hex('0a020801 1002'))).toThrow(/^test\/nest\.z: boolean must be 0 or 1$/);
  });

  it('encodes nested and repeated objects as length-delimited messages', () => {
    expect(toHex(encode(Nest, { x: { y: 300 }, z: true }))).toBe('0a0308ac02 1001'.replace(/ /g, ''));
    expect(toHex(encode(Nest, { x: { y: 0 }, z: false }))).toBe('0a020800 1000'.replace(/ /g, ''));
    const arr = { a: [], b: ['x', ''], c: [{ n: 1, tags: [], blob: new Uint8Array() }], d: [3, 300], e: [] };
    const h = '2a0178 2a00 a2010408011a00 aa010303ac02'.replace(/ /g, '');
    expect(toHex(encode(Arrays, arr))).toBe(h);
    expect(decode(Arrays, hex(h))).toStrictEqual(arr);
    // an array with an exact item count of 2 may be neither empty nor longer
    expect(() => encode(Arrays, { ...arr, d: [] })).toThrow(CodecError);
    expect(() => encode(Arrays, { ...arr, d: [1, 2, 3] })).toThrow(CodecError);
    rejects(Arrays, '2a0178', /length must be 2/);
    rejects(Arrays, 'aa0103010203', /length must be 2/);
    // array elements get the field's exact bytes length
    expect(() => encode(Arrays, { ...arr, e: [hex('0102')] })).toThrow(CodecError);
    rejects(Arrays, 'aa0102 0102 b201020102', /length must be 1/);
    expect(toHex(encode(Arrays, { ...arr, b: [], c: [], e: [hex('07'), hex('08')] }))).toBe('aa010303ac02b2010107b2010108');
  });

  it('keeps a leading byte-order mark in strings (no silent stripping)', () => {
    const h = '0801 1002 1801 2202aabb 2a03efbbbf';
    expect(decode(S, hex(h)).e).toBe('\uFEFF');
    expect(toHex(encode(S, decode(S, hex(h))))).toBe(h.replace(/ /g, ''));
    const W = { $id: 'w', fields: { s: { id: 1, type: 'string' } } } as const satisfies ObjectSchema;
    expect(decode(W, hex('0a04efbbbf41')).s).toBe('\uFEFFA');
    expect(toHex(encode(W, { s: '\uFEFFA' }))).toBe('0a04efbbbf41');
  });

  it('refuses to encode strings that are not well-formed UTF-16', () => {
    for (const e of ['\uD800', 'a\uDC00', '\uDBFF']) {
      expect(() => encode(S, { ...validValue, e })).toThrow(CodecError);
    }
  });

  it('rejects a non-minimal varint', () => {
    rejects(S, '088100 1002 1801 2202aabb 2a0161', /non-minimal/);
    rejects(S, '0800 108000 1801 2202aabb 2a0161', /non-minimal/);
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3203058000', /non-minimal/);
    // the field key and the length prefix are varints too
    rejects(S, '8800 01 1002 1801 2202aabb 2a0161');
    rejects(S, '0801 1002 1801 228200aabb 2a0161', /non-minimal/);
  });

  it('rejects uint32 overflow', () => {
    rejects(S, '088080808010 1002 1801 2202aabb 2a0161', /uint32/);
    rejects(S, '08ffffffffff01 1002 1801 2202aabb 2a0161', /uint32/);
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3205ffffffff1f', /uint32/);
    expect(() => encode(S, { ...validValue, a: 2 ** 32 })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, a: -1 })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, a: 1.5 })).toThrow(CodecError);
  });

  it('rejects uint64 overflow', () => {
    rejects(S, '0801 10ffffffffffffffffff02 1801 2202aabb 2a0161', /uint64/);
    rejects(S, '0801 1080808080808080808002 1801 2202aabb 2a0161', /uint64/);
    rejects(S, '0801 10ffffffffffffffffff8101 1801 2202aabb 2a0161', /uint64/);
    expect(() => encode(S, { ...validValue, b: 1n << 64n })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, b: -1n })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, b: 1 as unknown as bigint })).toThrow(CodecError);
  });

  it('rejects bool = 2', () => {
    rejects(S, '0801 1002 1802 2202aabb 2a0161', /boolean/);
    const B = { $id: 'b', fields: { v: { id: 1, type: { array: 'bool' } } } } as const satisfies ObjectSchema;
    expect(decode(B, hex('0a020100')).v).toEqual([true, false]);
    rejects(B, '0a020102', /boolean/);
  });

  it('rejects invalid UTF-8', () => {
    rejects(S, '0801 1002 1801 2202aabb 2a01ff', /UTF-8/);
    rejects(S, '0801 1002 1801 2202aabb 2a02c080', /UTF-8/); // overlong NUL
    rejects(S, '0801 1002 1801 2202aabb 2a03eda080', /UTF-8/); // encoded surrogate
    rejects(S, '0801 1002 1801 2202aabb 2a02e282', /UTF-8/); // truncated sequence
  });

  it('rejects a missing field', () => {
    rejects(S, '0801 1002 2202aabb 2a0161');
    rejects(S, '0801 1002 1801 2202aabb', /missing field e/);
    rejects(S, '', /missing/);
    rejects(Nest, '0a00 1001', /missing field y/);
    expect(() => encode(S, { a: 1, b: 2n, c: true, d: hex('aabb'), f: [] } as unknown as Infer<typeof S>)).toThrow(CodecError);
  });

  it('rejects out-of-order fields', () => {
    rejects(S, '1002 0801 1801 2202aabb 2a0161');
    rejects(S, '0801 1002 1801 2a0161 2202aabb');
    rejects(S, '0801 1002 1801 2202aabb 32020506 2a0161');
    rejects(Arrays, '2a0178 1a0101 aa01020102');
    rejects(Arrays, '2a0178 1a0101 2a00 aa01020102');
    rejects(Arrays, 'aa01020102 2a0178');
  });

  it('rejects a duplicate scalar field', () => {
    rejects(S, '0801 0801 1002 1801 2202aabb 2a0161');
    rejects(S, '0801 1002 1801 1801 2202aabb 2a0161');
    rejects(S, '0801 1002 1801 2202aabb 2a0161 2a0161');
    rejects(Nest, '0a020801 0a020801 1001');
  });

  it('rejects a repeated packed array field', () => {
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3201 05 3201 06');
  });

  it('rejects an unknown field', () => {
    rejects(S, `${valid} 3801`); // field 7 varint
    rejects(S, `${valid} 3a00`); // field 7 length-delimited
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3801 32020506');
    rejects(S, '0801 4801 1002 1801 2202aabb 2a0161');
    rejects(Nest, '0a04 0801 1001 1001'); // unknown field inside the nested message
    rejects(Arrays, '0801 aa01020102');
    rejects(Arrays, 'aa01020102 b8 0101');
  });

  it('rejects trailing bytes', () => {
    rejects(S, `${valid} 00`);
    rejects(S, `${valid} 32`);
    rejects(S, `${valid} 0801`);
    rejects(Nest, '0a03 0801 00 1001'); // trailing byte inside the nested message
  });

  it('rejects a wrong wire type', () => {
    rejects(S, '0a01 01 1002 1801 2202aabb 2a0161'); // uint32 as length-delimited
    rejects(S, '0801 1002 1801 2002 2a0161'); // bytes as varint
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3005 3006'); // unpacked varint array
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3505060708'); // wire type 5 (fixed32)
  });

  it('rejects a length beyond the input', () => {
    rejects(S, '0801 1002 1801 2205aabb', /exceeds input/);
    rejects(S, '0801 1002 1801 2202aabb 2a0561', /exceeds input/);
    rejects(S, '0801 1002 1801 2202aabb 2a0161 3203 0506', /exceeds input/);
    rejects(Nest, '0a05 0801 1001', /exceeds input/);
    rejects(S, '0801 1002 1801 22', /truncated/);
    rejects(S, '08', /truncated/);
    rejects(S, '0880', /truncated/);
  });

  it('rejects bytes of the wrong exact length', () => {
    rejects(S, '0801 1002 1801 2203aabbcc 2a0161', /length must be 2/);
    rejects(S, '0801 1002 1801 2201aa 2a0161', /length must be 2/);
    rejects(S, '0801 1002 1801 2200 2a0161', /length must be 2/);
    expect(() => encode(S, { ...validValue, d: hex('aa') })).toThrow(CodecError);
    expect(() => encode(All, { ...baseAll, hashes: [hex('00')] })).toThrow(CodecError);
  });

  it('rejects an over-max string, bytes or array', () => {
    rejects(S, '0801 1002 1801 2202aabb 2a0461626364', /exceeds maximum 3/);
    // 'é' is 2 bytes: 2 characters, 4 bytes > max 3
    rejects(S, '0801 1002 1801 2202aabb 2a04c3a9c3a9', /exceeds maximum/);
    expect(() => encode(S, { ...validValue, e: 'éé' })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, e: 'abcd' })).toThrow(CodecError);
    expect(decode(S, hex('0801 1002 1801 2202aabb 2a03616263'.replace(/ /g, ''))).e).toBe('abc');
    const base = baseAll;
    expect(() => encode(All, { ...base, data: new Uint8Array(17) })).toThrow(CodecError);
    expect(() => encode(All, { ...base, nums: Array.from({ length: 9 }, () => 1n) })).toThrow(CodecError);
    expect(() => encode(All, { ...base, blobs: [new Uint8Array(7)] })).toThrow(CodecError);
    const tooMany = encode(All, { ...base, nums: Array.from({ length: 8 }, () => 1n) });
    // splice a 9th element into the packed nums array
    const patched = toHex(tooMany).replace(`1208${'01'.repeat(8)}`, `1209${'01'.repeat(9)}`);
    expect(patched).not.toBe(toHex(tooMany));
    rejects(All, patched, /more than 8|exceeds maximum 8/);
  });

  it('rejects an empty packed array that is present', () => {
    rejects(S, `${valid.slice(0, -9)} 3200`, /empty packed array/);
    rejects(Arrays, '1a00 aa01020102', /empty packed array/);
    rejects(Arrays, '1a00 2a0178 aa01020102', /empty packed array/);
  });

  it('rejects non-bytes input and wrong value types', () => {
    expect(() => decode(S, 'abc' as unknown as Uint8Array)).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, c: 1 as unknown as boolean })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, d: 'aabb' as unknown as Uint8Array })).toThrow(CodecError);
    expect(() => encode(S, { ...validValue, f: 5 as unknown as number[] })).toThrow(CodecError);
    expect(() => encode(S, null as unknown as Infer<typeof S>)).toThrow(CodecError);
  });
});

describe('field rules', () => {
  const even = (v: number): string | undefined => (v % 2 === 0 ? undefined : `must be even, is ${v}`);
  const Ruled = {
    $id: 'test/ruled',
    fields: {
      n: { id: 1, type: 'uint32', check: even, code: 'ODD' },
      ns: { id: 2, type: { array: 'uint32' }, check: even, code: 'ODD' },
      tag: { id: 3, type: 'bytes', max: 4, check: (b: Uint8Array) => (b.length === 0 || b[0] === 1 ? undefined : 'starts with 1 when present') },
    },
  } as const satisfies ObjectSchema;
  const Loose = {
    $id: 'test/ruled',
    fields: { n: { id: 1, type: 'uint32' }, ns: { id: 2, type: { array: 'uint32' } }, tag: { id: 3, type: 'bytes', max: 4 } },
  } as const;

  it('are checked by encode and decode, on every item of an array, and carry their code', () => {
    const ok = { n: 2, ns: [0, 4], tag: new Uint8Array([1, 9]) };
    expect(decode(Ruled, encode(Ruled, ok))).toEqual(ok);
    for (const bad of [
      { ...ok, n: 3 },
      { ...ok, ns: [2, 5] },
      { ...ok, tag: new Uint8Array([2]) },
    ]) {
      const thrown = (f: () => unknown): CodecError => {
        try {
          f();
        } catch (e) {
          return e as CodecError;
        }
        throw new Error('no error');
      };
      const enc = thrown(() => encode(Ruled, bad));
      const dec = thrown(() => decode(Ruled, encode(Loose, bad)));
      expect(enc).toBeInstanceOf(CodecError);
      expect(dec.message).toBe(enc.message);
      expect(dec.code).toBe(enc.code);
      expect(enc.message).toMatch(/^test\/ruled\.(n|ns\[1\]|tag): /);
      expect(enc.code).toBe(bad.tag[0] === 2 ? undefined : 'ODD');
    }
  });
});
