import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PIECE_SIZE, type Digest, type PieceMap } from './contracts.ts';

// Piece maps: how a blob is cut for delivery, and the canonical form that gives a map its own
// digest, so a map can be named (published with an app, asked of a peer) and checked on arrival.

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Bounds a map must respect so a hostile peer cannot make us allocate absurd bitmaps or buffers. */
const MIN_PIECE = 1024;
const MAX_PIECE = 64 * 1024 * 1024;
const MAX_PIECES = 1 << 20;

/** An error of the delivery network with a stable code (mapped to HTTP by the API). */
export class DdnError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export const isDigest = (s: unknown): s is Digest => typeof s === 'string' && DIGEST.test(s);

/** The 64 hex digits of a digest, checked (used as file names: nothing else may get through). */
export function digestHex(d: string): string {
  if (!isDigest(d)) throw new DdnError('DIGEST_INVALID', `"${d}" is not a digest of the form sha256:<64 lowercase hex digits>`);
  return d.slice('sha256:'.length);
}

export const pieceCount = (map: Pick<PieceMap, 'size' | 'pieceSize'>): number => Math.ceil(map.size / map.pieceSize);

/** Byte range [start, start + length) of piece `index`. */
export function pieceRange(map: Pick<PieceMap, 'size' | 'pieceSize'>, index: number): { start: number; length: number } {
  const start = index * map.pieceSize;
  return { start, length: Math.min(map.pieceSize, map.size - start) };
}

/**
 * Reads a file once, streaming, and returns its digest and piece map. The stream's chunks are
 * cut at piece boundaries so memory stays at one chunk whatever the file's size.
 */
export async function computePieceMap(file: string, pieceSize = PIECE_SIZE): Promise<PieceMap> {
  const whole = createHash('sha256');
  const pieces: string[] = [];
  let piece = createHash('sha256');
  let inPiece = 0;
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    size += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(pieceSize - inPiece, chunk.length - off);
      piece.update(chunk.subarray(off, off + take));
      inPiece += take;
      off += take;
      if (inPiece === pieceSize) {
        pieces.push(piece.digest('hex'));
        piece = createHash('sha256');
        inPiece = 0;
      }
    }
  }
  if (inPiece > 0) pieces.push(piece.digest('hex'));
  return { digest: `sha256:${whole.digest('hex')}`, size, pieceSize, pieces };
}

/** Checks a map that came from elsewhere (a peer, a file, a request) and returns it typed. */
export function validatePieceMap(x: unknown): PieceMap {
  const bad = (why: string): never => {
    throw new DdnError('MAP_INVALID', `invalid piece map: ${why}`);
  };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return bad('not an object');
  const m = x as Record<string, unknown>;
  if (!isDigest(m.digest)) bad('digest must be sha256:<64 hex>');
  if (!Number.isSafeInteger(m.size) || (m.size as number) < 0) bad('size must be a whole number of bytes');
  const ps = m.pieceSize as number;
  if (!Number.isSafeInteger(ps) || ps < MIN_PIECE || ps > MAX_PIECE) bad(`pieceSize must be a whole number in [${MIN_PIECE}, ${MAX_PIECE}]`);
  if (!Array.isArray(m.pieces)) return bad('pieces must be an array');
  const want = Math.ceil((m.size as number) / ps);
  if (want > MAX_PIECES) bad(`more than ${MAX_PIECES} pieces`);
  if (m.pieces.length !== want) bad(`${m.pieces.length} pieces listed, but size ${String(m.size)} in pieces of ${ps} needs ${want}`);
  m.pieces.forEach((p, i) => {
    if (typeof p !== 'string' || !HEX64.test(p)) bad(`piece ${i} is not 64 lowercase hex digits`);
  });
  const extra = Object.keys(m).filter((k) => !['digest', 'size', 'pieceSize', 'pieces'].includes(k));
  if (extra.length) bad(`unknown field(s) ${extra.join(', ')}`);
  return { digest: m.digest as Digest, size: m.size as number, pieceSize: ps, pieces: [...(m.pieces as string[])] };
}

/**
 * The canonical JSON text of a map: keys in a fixed order, no whitespace. Its SHA-256 is the
 * map's digest; every node derives the same text from the same map.
 */
export function canonicalPieceMap(map: PieceMap): string {
  const m = validatePieceMap(map);
  return `{"digest":${JSON.stringify(m.digest)},"pieceSize":${m.pieceSize},"pieces":[${m.pieces.map((p) => `"${p}"`).join(',')}],"size":${m.size}}`;
}

export function pieceMapDigest(map: PieceMap): Digest {
  return `sha256:${createHash('sha256').update(canonicalPieceMap(map)).digest('hex')}`;
}

/** SHA-256 of bytes, hex. */
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** SHA-256 of a whole file, streaming. */
export async function fileDigest(file: string): Promise<Digest> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) h.update(chunk);
  return `sha256:${h.digest('hex')}`;
}
