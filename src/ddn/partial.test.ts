import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from './store.ts';
import { NODE_BIN } from '../../test/helpers/processes.ts';
import { PieceStore } from './partial.ts';
import { computePieceMap, fileDigest, pieceRange, sha256Hex } from './pieces.ts';

// Partial downloads on disk: what is marked was verified and written, survives a restart, and
// only a blob whose whole digest checks reaches the store.

const dir = mkdtempSync(join(tmpdir(), 'ddn-partial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PIECE = 1024;
let k = 0;

async function blob(size: number) {
  const bytes = randomBytes(size);
  const file = join(dir, `src${k++}`);
  writeFileSync(file, bytes);
  const map = await computePieceMap(file, PIECE);
  const piece = (i: number): Buffer => {
    const { start, length } = pieceRange(map, i);
    return bytes.subarray(start, start + length);
  };
  return { bytes, map, piece, file };
}

describe('piece store', () => {
  it('keeps verified pieces across a restart and refuses others', async () => {
    const b = await blob(5 * PIECE + 100);
    const pdir = join(dir, `p${k++}`);
    const first = await new PieceStore(pdir).open(b.map);
    expect(await first.writePiece(1, b.piece(1))).toBe(true);
    expect(await first.writePiece(5, b.piece(5))).toBe(true);
    const wrong = Buffer.from(b.piece(2));
    wrong[7] ^= 1;
    expect(await first.writePiece(2, wrong)).toBe(false);
    expect(await first.writePiece(3, b.piece(3).subarray(1))).toBe(false);
    expect(await first.readPiece(2)).toBeUndefined();
    expect(await first.readPiece(1)).toEqual(b.piece(1));
    // No close: as if the process died here. A new store finds what was marked, and only that.
    const again = await new PieceStore(pdir).get(b.map.digest);
    expect(again).toBeDefined();
    expect([0, 1, 2, 3, 4, 5].filter((i) => again!.have.has(i))).toEqual([1, 5]);
    expect(await again!.readPiece(5)).toEqual(b.piece(5));
    expect(again!.bytesHeld).toBe(PIECE + 100);
    await Promise.all([first.close(), again!.close()]);
  });

  it('marks only pieces whose bytes are on disk, whenever the process is killed', async () => {
    const b = await blob(64 * PIECE);
    const pdir = join(dir, `p${k++}`);
    const mapFile = join(dir, `map${k++}.json`);
    writeFileSync(mapFile, JSON.stringify(b.map));
    // A separate process writes every piece, in random order; it is SIGKILLed part way.
    const script = `
      import { readFileSync } from 'node:fs';
      import { PieceStore } from ${JSON.stringify(new URL('./partial.ts', import.meta.url).href)};
      const map = JSON.parse(readFileSync(${JSON.stringify(mapFile)}, 'utf8'));
      const src = readFileSync(${JSON.stringify(b.file)});
      const p = await new PieceStore(${JSON.stringify(pdir)}).open(map);
      const order = map.pieces.map((_, i) => i).sort(() => Math.random() - 0.5);
      process.stdout.write('ready\\n');
      await Promise.all([0, 1, 2, 3].map(async (w) => {
        for (let j = w; j < order.length; j += 4) {
          const i = order[j];
          await p.writePiece(i, src.subarray(i * ${PIECE}, Math.min(src.length, (i + 1) * ${PIECE})));
        }
      }));
      process.stdout.write('done\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(NODE_BIN, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve()));
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const p = (await new PieceStore(pdir).get(b.map.digest))!;
    for (let i = 0; i < p.pieces; i++) if (p.have.has(i)) expect(sha256Hex((await p.readPiece(i))!)).toBe(b.map.pieces[i]);
    await p.close();
  });

  it('never counts a bitmap write that did not finish', async () => {
    const b = await blob(3 * PIECE);
    const pdir = join(dir, `p${k++}`);
    const p = await new PieceStore(pdir).open(b.map);
    await p.writePiece(0, b.piece(0));
    // A crash between writing the new bitmap and renaming it leaves a .tmp behind: ignored.
    const hex = b.map.digest.slice(7);
    writeFileSync(join(pdir, `${hex}.have.tmp`), Buffer.from([0xe0]));
    const again = await new PieceStore(pdir).get(b.map.digest);
    expect([0, 1, 2].map((i) => again!.have.has(i))).toEqual([true, false, false]);
    await Promise.all([p.close(), again!.close()]);
  });

  it('hands a complete blob to the store only when its whole digest checks', async () => {
    const b = await blob(4 * PIECE - 3);
    const pdir = join(dir, `p${k++}`);
    const store = await DiskBlobStore.open(join(dir, `s${k++}`));
    const p = await new PieceStore(pdir).open(b.map);
    for (let i = 3; i >= 0; i--) await p.writePiece(i, b.piece(i));
    // A disk fault after verification: piece 2 rots on disk.
    const part = readFileSync(p.path);
    part[2 * PIECE + 1] ^= 0xff;
    writeFileSync(p.path, part);
    await p.close();
    const r = await p.complete(store);
    expect(r).toEqual({ imported: false, bad: [2] });
    expect(await store.has(b.map.digest)).toBe(false);
    expect(await p.writePiece(2, b.piece(2))).toBe(true);
    expect(await p.complete(store)).toEqual({ imported: true });
    expect(await fileDigest((await store.path(b.map.digest))!)).toBe(b.map.digest);
    expect(existsSync(p.path)).toBe(false);
    expect(await new PieceStore(pdir).get(b.map.digest)).toBeUndefined();
  });

  it('starts over when the map changes', async () => {
    const b = await blob(3 * PIECE);
    const s = new PieceStore(join(dir, `p${k++}`));
    const p = await s.open(b.map);
    await p.writePiece(0, b.piece(0));
    const q = await s.open(await computePieceMap(b.file, 2 * PIECE));
    expect(q.have.count).toBe(0);
    expect(q.pieces).toBe(2);
    expect(p.open).toBe(false);
    await q.close();
  });
});
