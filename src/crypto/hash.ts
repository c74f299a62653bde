import { createHash, hash } from 'node:crypto';

export function sha256(...parts: Uint8Array[]): Uint8Array {
  // One-shot hashing of a single part skips the Hash object: most hashes here are of one small input.
  const d = parts.length === 1 ? hash('sha256', parts[0], 'buffer') : parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
  // A plain Uint8Array view of the digest: no copy, and no Buffer semantics leaking out.
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error('invalid hex string');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
