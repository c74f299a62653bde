import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Bitfield } from './bitfield.ts';
import { PIECE_SIZE } from './contracts.ts';
import { canonicalPieceMap, computePieceMap, pieceMapDigest, pieceRange, validatePieceMap } from './pieces.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddn-pieces-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
let n = 0;
const fileOf = (bytes: Uint8Array): string => {
  const f = join(dir, `f${n++}`);
  writeFileSync(f, bytes);
  return f;
};

describe('piece maps', () => {
  it('cut a file into pieces whose hashes are those of its slices, whatever the sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 9000 }), fc.constantFrom(1024, 2048, 4096), async (bytes, pieceSize) => {
        const map = await computePieceMap(fileOf(bytes), pieceSize);
        expect(map.digest).toBe(`sha256:${hex(bytes)}`);
        expect(map.size).toBe(bytes.length);
        expect(map.pieces.length).toBe(Math.ceil(bytes.length / pieceSize));
        map.pieces.forEach((p, i) => {
          const { start, length } = pieceRange(map, i);
          expect(p).toBe(hex(bytes.subarray(start, start + length)));
        });
        // The canonical form survives a trip through JSON and names the map.
        const again = validatePieceMap(JSON.parse(JSON.stringify(map)));
        expect(canonicalPieceMap(again)).toBe(canonicalPieceMap(map));
        expect(pieceMapDigest(again)).toBe(`sha256:${hex(new TextEncoder().encode(canonicalPieceMap(map)))}`);
      }),
      { numRuns: 60 },
    );
  });

  it('use 4 MiB pieces by default, the last one short', async () => {
    const bytes = new Uint8Array(PIECE_SIZE * 2 + 5).map((_, i) => i & 0xff);
    const map = await computePieceMap(fileOf(bytes));
    expect(map.pieceSize).toBe(PIECE_SIZE);
    expect(map.pieces).toHaveLength(3);
    expect(pieceRange(map, 2)).toEqual({ start: 2 * PIECE_SIZE, length: 5 });
  });

  it('have a canonical text with sorted keys and no spaces', async () => {
    const map = await computePieceMap(fileOf(new Uint8Array([1, 2, 3])), 1024);
    expect(canonicalPieceMap(map)).toBe(`{"digest":"${map.digest}","pieceSize":1024,"pieces":["${map.pieces[0]}"],"size":3}`);
  });

  it('are refused when inconsistent', async () => {
    const good = await computePieceMap(fileOf(new Uint8Array(3000)), 1024);
    const bad = (m: unknown, why: RegExp): void => expect(() => validatePieceMap(m)).toThrow(why);
    bad(null, /not an object/);
    bad({ ...good, digest: 'sha256:ABC' }, /digest/);
    bad({ ...good, digest: `sha256:${'A'.repeat(64)}` }, /digest/);
    bad({ ...good, size: -1 }, /size/);
    bad({ ...good, size: 1.5 }, /size/);
    bad({ ...good, pieceSize: 0 }, /pieceSize/);
    bad({ ...good, pieceSize: 1 << 30 }, /pieceSize/);
    bad({ ...good, size: 5000 }, /needs 5/);
    bad({ ...good, pieces: good.pieces.slice(1) }, /needs 3/);
    bad({ ...good, pieces: [...good.pieces.slice(1), 'xyz'] }, /piece 2/);
    bad({ ...good, pieces: [...good.pieces.slice(1), good.pieces[0].toUpperCase()] }, /piece 2/);
    bad({ ...good, extra: 1 }, /unknown field/);
    bad({ ...good, size: 2 ** 40, pieceSize: 1024, pieces: [] }, /more than/);
    expect(validatePieceMap(good)).toEqual(good);
  });
});

describe('bitfields', () => {
  it('round-trip through base64 with piece 0 in the top bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }).chain((len) => fc.tuple(fc.constant(len), fc.uniqueArray(fc.nat({ max: Math.max(0, len - 1) }), { maxLength: len }))),
        ([len, set]) => {
          const b = new Bitfield(len);
          for (const i of set) if (i < len) b.set(i);
          const c = Bitfield.fromBase64(len, b.toBase64());
          for (let i = 0; i < len; i++) expect(c.has(i)).toBe(b.has(i));
          expect(c.count).toBe(b.count);
        },
      ),
    );
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    expect([...b.bytes]).toEqual([0x80, 0x40]);
    expect(() => new Bitfield(10, new Uint8Array([0, 0x20]))).toThrow(/past its last piece/);
    expect(() => new Bitfield(10, new Uint8Array([0]))).toThrow(/needs 2 bytes/);
  });
});
