// Canonical binary encoding of everything that is hashed or signed.
export { CodecError, decode, decodeList, encode, encodeList } from './codec.ts';
export type { ArrayType, FieldDef, Infer, ObjectSchema, ScalarType } from './codec.ts';
