// A small deterministic schema codec following the rules of Lisk's LIP 0027:
// protobuf wire format, every field present and in ascending field-number order,
// minimal varints, valid UTF-8, no unknown fields and no trailing bytes. Each value has
// exactly one encoding, so decode(b) succeeds only for b = encode(decode(b)).

export class CodecError extends Error {
  override name = 'CodecError';
  /** The refusal code of a field whose rule (`FieldDef.check`) the value breaks; undefined for wire-format faults. */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

export type ScalarType = 'uint32' | 'uint64' | 'bool' | 'bytes' | 'string';

export interface FieldDef {
  readonly id: number;
  readonly type: ScalarType | ObjectSchema | ArrayType;
  /** For bytes: exact length. */
  readonly length?: number;
  /** For bytes and strings: maximum length in bytes; for arrays: maximum items. */
  readonly max?: number;
  /**
   * A rule beyond the wire type (an address of a known kind, say): why a value breaks it, or
   * undefined. Both encode and decode check it (for an array, on every item), so a schema shared
   * by what a transaction carries and what the state stores holds both to the same rule.
   */
  readonly check?: (value: never) => string | undefined;
  /** The code a CodecError for a broken `check` carries, for the caller to refuse with. */
  readonly code?: string;
}
export interface ArrayType {
  readonly array: ScalarType | ObjectSchema;
  readonly length?: number;
  readonly max?: number;
  /**
   * The code a CodecError for a wrong number of items carries: a caller answers "too many" (a
   * batch over its limit, say) differently from a malformed encoding, without reading messages.
   */
  readonly code?: string;
}
export interface ObjectSchema {
  readonly $id: string;
  readonly fields: { readonly [name: string]: FieldDef };
}

type ScalarTs<T> = T extends 'uint32'
  ? number
  : T extends 'uint64'
    ? bigint
    : T extends 'bool'
      ? boolean
      : T extends 'bytes'
        ? Uint8Array
        : T extends 'string'
          ? string
          : T extends ObjectSchema
            ? Infer<T>
            : never;
type FieldTs<F extends FieldDef> = F['type'] extends ArrayType ? ScalarTs<F['type']['array']>[] : ScalarTs<F['type']>;
/** The TypeScript type of values that a schema encodes. */
export type Infer<S extends ObjectSchema> = { -readonly [K in keyof S['fields']]: FieldTs<S['fields'][K]> };

const MAX_U64 = (1n << 64n) - 1n;
// ignoreBOM: keep a leading U+FEFF in the output. The default strips it, which would make
// decode accept both `EF BB BF 41` and `41` as "A" — two encodings of one value.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const textEncoder = new TextEncoder();

class Writer {
  buf = new Uint8Array(256);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  bigVarint(v: bigint): void {
    if (v <= 0xffffffffn) return this.varint(Number(v));
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /**
   * Writes a short ASCII string (its UTF-8 is itself) without a TextEncoder round trip; returns
   * false, having written nothing, for any other string (or one over `max` bytes).
   */
  ascii(s: string, max: number | undefined): boolean {
    const n = s.length;
    if (n > 127 || (max !== undefined && n > max)) return false;
    this.ensure(n + 1);
    const start = this.pos;
    this.buf[this.pos++] = n;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.pos = start;
        return false;
      }
      this.buf[this.pos++] = c;
    }
    return true;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
  /** The bytes written so far, without copying (valid until the writer is reused). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

// Writers are reused: a ledger encodes every entry it writes, and a fresh buffer per object
// (and per nested object) made the encoder mostly an allocator. Encoding is synchronous, so a
// stack of free writers serves nesting; `finish` copies the result out.
const freeWriters: Writer[] = [];
function takeWriter(): Writer {
  const w = freeWriters.pop() ?? new Writer();
  w.pos = 0;
  return w;
}
function giveWriter(w: Writer): void {
  if (w.buf.length <= 64 * 1024 && freeWriters.length < 16) freeWriters.push(w);
}

class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  readonly end: number;
  constructor(buf: Uint8Array, end: number) {
    this.buf = buf;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw new CodecError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new CodecError('non-minimal varint');
        if (result > 0xffffffff) throw new CodecError('uint32 out of range');
        return result;
      }
      mul *= 128;
    }
    throw new CodecError('uint32 varint too long');
  }
  bigVarint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new CodecError('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new CodecError('non-minimal varint');
        if (result > MAX_U64) throw new CodecError('uint64 out of range');
        return result;
      }
      shift += 7n;
    }
    throw new CodecError('uint64 varint too long');
  }
  lengthDelimited(): Uint8Array {
    const n = this.varint();
    if (n > this.end - this.pos) throw new CodecError('length exceeds input');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const isVarintType = (t: ScalarType | ObjectSchema): boolean => t === 'uint32' || t === 'uint64' || t === 'bool';

function wireType(t: ScalarType | ObjectSchema | ArrayType): number {
  if (typeof t === 'object' && 'array' in t) return 2;
  return isVarintType(t as ScalarType) ? 0 : 2;
}

interface CompiledField {
  readonly name: string;
  readonly def: FieldDef;
  readonly key: number;
}

const compiled = new WeakMap<ObjectSchema, CompiledField[]>();

function fieldsOf(schema: ObjectSchema): CompiledField[] {
  let fields = compiled.get(schema);
  if (fields) return fields;
  fields = Object.entries(schema.fields)
    .map(([name, def]) => ({ name, def, key: def.id * 8 + wireType(def.type) }))
    .sort((a, b) => a.def.id - b.def.id);
  for (let i = 0; i < fields.length; i++) {
    if (fields[i].def.id < 1 || (i > 0 && fields[i].def.id === fields[i - 1].def.id)) {
      throw new Error(`schema ${schema.$id}: field ids must be positive and unique`);
    }
  }
  compiled.set(schema, fields);
  return fields;
}

/** Whether `n` items (or bytes) break a length rule; the message is made only then (see checkLength). */
const lengthBreaks = (n: number, length: number | undefined, max: number | undefined): boolean =>
  (length !== undefined && n !== length) || (max !== undefined && n > max);

function checkLength(what: Path, n: number, length: number | undefined, max: number | undefined, code?: string): void {
  if (length !== undefined && n !== length) throw new CodecError(`${pathText(what)}: length must be ${length}, is ${n}`, code);
  if (max !== undefined && n > max) throw new CodecError(`${pathText(what)}: length ${n} exceeds maximum ${max}`, code);
}

type Rule = Pick<FieldDef, 'length' | 'max' | 'check' | 'code'>;

function checkRule(at: Path, name: string, index: number, v: unknown, rule: Rule | undefined): void {
  const why = rule?.check && (rule.check as (value: unknown) => string | undefined)(v);
  if (why !== undefined && why !== '') throw new CodecError(`${fieldText(at, name, index)}: ${why}`, rule!.code);
}

// Paths name a value in errors only. A value is addressed by its parent's path, its field's name
// and its index in an array (-1: not an item), and text is made of them only when an error is
// thrown: encoding and decoding, which run for every entry a ledger touches, allocate nothing for
// paths but one small step per nested object.
interface Step {
  readonly parent: Path;
  readonly name: string;
  readonly index: number;
}
type Path = string | Step;
const fieldText = (at: Path, name: string, index: number): string => `${pathText(at)}.${name}${index >= 0 ? `[${index}]` : ''}`;
const pathText = (p: Path): string => (typeof p === 'string' ? p : fieldText(p.parent, p.name, p.index));

function writeScalar(w: Writer, t: ScalarType | ObjectSchema, v: unknown, at: Path, name: string, index: number, rule?: Rule): void {
  writeValue(w, t, v, at, name, index, rule?.length, rule?.max);
  if (rule?.check) checkRule(at, name, index, v, rule);
}

function writeValue(w: Writer, t: ScalarType | ObjectSchema, v: unknown, at: Path, name: string, index: number, length?: number, max?: number): void {
  switch (t) {
    case 'uint32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new CodecError(`${fieldText(at, name, index)}: expected uint32`);
      }
      return w.varint(v);
    case 'uint64':
      if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) throw new CodecError(`${fieldText(at, name, index)}: expected uint64 bigint`);
      return w.bigVarint(v);
    case 'bool':
      if (typeof v !== 'boolean') throw new CodecError(`${fieldText(at, name, index)}: expected boolean`);
      return w.varint(v ? 1 : 0);
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new CodecError(`${fieldText(at, name, index)}: expected bytes`);
      if (lengthBreaks(v.length, length, max)) checkLength({ parent: at, name, index }, v.length, length, max);
      return w.bytes(v);
    case 'string': {
      if (typeof v !== 'string') throw new CodecError(`${fieldText(at, name, index)}: expected string`);
      // TextEncoder turns lone surrogates into U+FFFD, so distinct strings would share an encoding.
      if (!v.isWellFormed()) throw new CodecError(`${fieldText(at, name, index)}: string has a lone surrogate (not valid Unicode)`);
      if (w.ascii(v, max)) return;
      const b = textEncoder.encode(v);
      if (max !== undefined && b.length > max) checkLength({ parent: at, name, index }, b.length, undefined, max);
      return w.bytes(b);
    }
    default: {
      const inner = takeWriter();
      try {
        writeObject(inner, t, v, { parent: at, name, index });
        return w.bytes(inner.view());
      } finally {
        giveWriter(inner);
      }
    }
  }
}

function writeObject(w: Writer, schema: ObjectSchema, value: unknown, path: Path): void {
  if (typeof value !== 'object' || value === null) throw new CodecError(`${pathText(path)}: expected object`);
  const obj = value as Record<string, unknown>;
  for (const f of fieldsOf(schema)) {
    const v = obj[f.name];
    const t = f.def.type;
    if (typeof t === 'object' && 'array' in t) {
      if (!Array.isArray(v)) throw new CodecError(`${fieldText(path, f.name, -1)}: expected array`);
      if (lengthBreaks(v.length, t.length, t.max)) checkLength({ parent: path, name: f.name, index: -1 }, v.length, t.length, t.max, t.code);
      if (v.length === 0) continue;
      if (isVarintType(t.array)) {
        const packed = takeWriter();
        try {
          for (let i = 0; i < v.length; i++) writeScalar(packed, t.array, v[i], path, f.name, i, f.def);
          w.varint(f.key);
          w.bytes(packed.view());
        } finally {
          giveWriter(packed);
        }
      } else {
        for (let i = 0; i < v.length; i++) {
          w.varint(f.key);
          writeScalar(w, t.array, v[i], path, f.name, i, f.def);
        }
      }
    } else {
      w.varint(f.key);
      writeScalar(w, t, v, path, f.name, -1, f.def);
    }
  }
}

function readScalar(r: Reader, t: ScalarType | ObjectSchema, at: Path, name: string, index: number, rule?: Rule): unknown {
  const v = readValue(r, t, at, name, index, rule?.length, rule?.max);
  if (rule?.check) checkRule(at, name, index, v, rule);
  return v;
}

function readValue(r: Reader, t: ScalarType | ObjectSchema, at: Path, name: string, index: number, length?: number, max?: number): unknown {
  switch (t) {
    case 'uint32':
      return r.varint();
    case 'uint64':
      return r.bigVarint();
    case 'bool': {
      const b = r.varint();
      if (b > 1) throw new CodecError(`${fieldText(at, name, index)}: boolean must be 0 or 1`);
      return b === 1;
    }
    case 'bytes': {
      const b = r.lengthDelimited();
      if (lengthBreaks(b.length, length, max)) checkLength({ parent: at, name, index }, b.length, length, max);
      // Copy into a plain Uint8Array: a Buffer's slice() would alias the input.
      return new Uint8Array(b);
    }
    case 'string': {
      const b = r.lengthDelimited();
      if (lengthBreaks(b.length, undefined, max)) checkLength({ parent: at, name, index }, b.length, undefined, max);
      try {
        return textDecoder.decode(b);
      } catch {
        throw new CodecError(`${fieldText(at, name, index)}: invalid UTF-8`);
      }
    }
    default: {
      const b = r.lengthDelimited();
      const inner = new Reader(r.buf, r.pos);
      inner.pos = r.pos - b.length;
      return readObject(inner, t, { parent: at, name, index });
    }
  }
}

function readObject(r: Reader, schema: ObjectSchema, path: Path): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = fieldsOf(schema);
  let i = 0;
  while (r.pos < r.end) {
    const key = r.varint();
    while (i < fields.length && fields[i].key !== key) {
      const f = fields[i];
      const t = f.def.type;
      // Only an array may be absent (empty); anything else missing or out of order is non-canonical.
      if (typeof t === 'object' && 'array' in t && out[f.name] === undefined) {
        if (lengthBreaks(0, t.length, t.max)) checkLength({ parent: path, name: f.name, index: -1 }, 0, t.length, t.max, t.code);
        out[f.name] = [];
        i++;
        continue;
      }
      if (out[f.name] !== undefined) {
        i++;
        continue;
      }
      throw new CodecError(`${pathText(path)}: unexpected field key ${key} where ${f.name} was expected`);
    }
    if (i >= fields.length) throw new CodecError(`${pathText(path)}: unknown or out-of-order field key ${key}`);
    const f = fields[i];
    const t = f.def.type;
    if (typeof t === 'object' && 'array' in t) {
      const arr = (out[f.name] as unknown[] | undefined) ?? [];
      if (isVarintType(t.array)) {
        if (out[f.name] !== undefined) throw new CodecError(`${fieldText(path, f.name, -1)}: packed array repeated`);
        const b = r.lengthDelimited();
        if (b.length === 0) throw new CodecError(`${fieldText(path, f.name, -1)}: empty packed array must be omitted`);
        const inner = new Reader(r.buf, r.pos);
        inner.pos = r.pos - b.length;
        while (inner.pos < inner.end) arr.push(readScalar(inner, t.array, path, f.name, arr.length, f.def));
      } else {
        arr.push(readScalar(r, t.array, path, f.name, arr.length, f.def));
      }
      if (t.max !== undefined && arr.length > t.max) throw new CodecError(`${fieldText(path, f.name, -1)}: more than ${t.max} items`, t.code);
      out[f.name] = arr;
      if (isVarintType(t.array)) i++;
    } else {
      out[f.name] = readScalar(r, t, path, f.name, -1, f.def);
      i++;
    }
  }
  for (; i < fields.length; i++) {
    const f = fields[i];
    const t = f.def.type;
    if (out[f.name] !== undefined) continue;
    if (typeof t === 'object' && 'array' in t) {
      if (lengthBreaks(0, t.length, t.max)) checkLength({ parent: path, name: f.name, index: -1 }, 0, t.length, t.max, t.code);
      out[f.name] = [];
    } else throw new CodecError(`${pathText(path)}: missing field ${f.name}`);
  }
  for (const f of fields) {
    const t = f.def.type;
    if (typeof t === 'object' && 'array' in t) {
      const n = (out[f.name] as unknown[]).length;
      if (lengthBreaks(n, t.length, t.max)) checkLength({ parent: path, name: f.name, index: -1 }, n, t.length, t.max, t.code);
    }
  }
  return out;
}

export function encode<S extends ObjectSchema>(schema: S, value: Infer<S>): Uint8Array {
  const w = takeWriter();
  try {
    writeObject(w, schema, value, schema.$id);
    return w.finish();
  } finally {
    giveWriter(w);
  }
}

/** Decodes and rejects every encoding that `encode` would not produce. */
export function decode<S extends ObjectSchema>(schema: S, bytes: Uint8Array): Infer<S> {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('expected bytes');
  const r = new Reader(bytes, bytes.length);
  return readObject(r, schema, schema.$id) as Infer<S>;
}

/** The one field of a schema that is a list of objects (a ReceiptList, say), or an error. */
function onlyObjectList(schema: ObjectSchema): CompiledField & { readonly def: { readonly type: ArrayType } } {
  const fields = fieldsOf(schema);
  const t = fields[0]?.def.type;
  if (fields.length !== 1 || typeof t !== 'object' || !('array' in t) || typeof t.array !== 'object')
    throw new Error(`schema ${schema.$id}: not a single list of objects`);
  return fields[0] as CompiledField & { readonly def: { readonly type: ArrayType } };
}

/**
 * encode(schema, { list }) for a schema whose one field is a list of objects, made from the items'
 * own encodings (each made once, elsewhere): the same bytes, without encoding any item again.
 */
export function encodeList(schema: ObjectSchema, items: readonly Uint8Array[]): Uint8Array {
  const f = onlyObjectList(schema);
  const t = f.def.type;
  if (lengthBreaks(items.length, t.length, t.max)) checkLength({ parent: schema.$id, name: f.name, index: -1 }, items.length, t.length, t.max, t.code);
  const w = takeWriter();
  try {
    for (const item of items) {
      w.varint(f.key);
      w.bytes(item);
    }
    return w.finish();
  } finally {
    giveWriter(w);
  }
}

/** decode(schema, bytes) for such a schema, with each item's own encoding (a copy) alongside, in order. */
export function decodeList<S extends ObjectSchema>(schema: S, bytes: Uint8Array): { value: Infer<S>; items: Uint8Array[] } {
  onlyObjectList(schema);
  const value = decode(schema, bytes);
  // Decoded, so canonical: one key and one length-delimited item after another.
  const r = new Reader(bytes, bytes.length);
  const items: Uint8Array[] = [];
  while (r.pos < r.end) {
    r.varint();
    items.push(r.lengthDelimited().slice());
  }
  return { value, items };
}
