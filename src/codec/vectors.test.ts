import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, encode, type ObjectSchema, type ScalarType } from './codec.ts';

// Fixed test vectors (test/vectors/codec.json): committed data, generated once and checked
// by hand for the simple cases. The encoding is consensus-critical, so any change that makes
// these fail changes every hash and signature.

const Pair = {
  $id: 'pair',
  fields: { id: { id: 1, type: 'uint32' }, name: { id: 2, type: 'string', max: 32 } },
} as const satisfies ObjectSchema;
const Transfer = {
  $id: 'transfer',
  fields: {
    nonce: { id: 1, type: 'uint64' },
    fee: { id: 2, type: 'uint64' },
    recipient: { id: 3, type: 'bytes', length: 21 },
    amount: { id: 4, type: 'uint64' },
    memo: { id: 5, type: 'string', max: 64 },
    final: { id: 6, type: 'bool' },
  },
} as const satisfies ObjectSchema;
const Batch = {
  $id: 'batch',
  fields: {
    items: { id: 1, type: { array: Pair } },
    values: { id: 2, type: { array: 'uint64' } },
    flags: { id: 3, type: { array: 'bool' } },
    hashes: { id: 4, type: { array: 'bytes' }, length: 4 },
    head: { id: 5, type: Pair },
    count: { id: 6, type: 'uint32' },
    blob: { id: 16, type: 'bytes', max: 1024 },
  },
} as const satisfies ObjectSchema;

const schemas: Record<string, ObjectSchema> = { pair: Pair, transfer: Transfer, batch: Batch };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Vector {
  schema: string;
  description: string;
  value: { [k: string]: Json };
  hex: string;
}

// JSON form of values: uint64 as a decimal string, bytes as a hex string.
function scalarFromJson(t: ScalarType | ObjectSchema, v: Json): unknown {
  if (typeof t === 'object') return fromJson(t, v as { [k: string]: Json });
  if (t === 'uint64') return BigInt(v as string);
  if (t === 'bytes') return new Uint8Array(Buffer.from(v as string, 'hex'));
  return v;
}
function fromJson(schema: ObjectSchema, j: { [k: string]: Json }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema.fields)) {
    const t = f.type;
    out[name] = typeof t === 'object' && 'array' in t ? (j[name] as Json[]).map((v) => scalarFromJson(t.array, v)) : scalarFromJson(t, j[name]);
  }
  return out;
}
function scalarToJson(v: unknown): Json {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(scalarToJson);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scalarToJson(x)]));
  }
  return v as Json;
}

const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/codec.json', import.meta.url), 'utf8')) as Vector[];

describe('codec test vectors', () => {
  it('the vector file covers every schema', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(9);
    expect(new Set(vectors.map((v) => v.schema))).toEqual(new Set(Object.keys(schemas)));
  });

  it('hand-checked wire bytes', () => {
    // pair {id: 1, name: "hi"}: key(1,varint)=08, 01, key(2,len)=12, 02, "h" "i"
    expect(vectors.find((v) => v.description === 'small values')?.hex).toBe('08' + '01' + '12' + '02' + '6869');
    // 300 = 0b10_0101100 -> low 7 bits 0x2c | 0x80 = ac, then 0x02
    expect(vectors.find((v) => v.description === 'two-byte varint')?.hex).toBe('08ac02' + '1204' + '7a657573');
    // empty arrays are omitted; field 16 has the two-byte key 0x82 0x01
    expect(vectors.find((v) => v.description === 'all arrays empty')?.hex).toBe('2a0408001200' + '3000' + '820100');
  });

  for (const v of vectors) {
    it(`${v.schema}: ${v.description}`, () => {
      const schema = schemas[v.schema];
      expect(schema, `unknown schema ${v.schema}`).toBeDefined();
      const value = fromJson(schema, v.value);
      expect(Buffer.from(encode(schema, value as never)).toString('hex')).toBe(v.hex);
      const decoded = decode(schema, new Uint8Array(Buffer.from(v.hex, 'hex')));
      expect(decoded).toStrictEqual(value);
      expect(scalarToJson(decoded)).toStrictEqual(v.value);
    });
  }
});
