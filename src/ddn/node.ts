import { join } from 'node:path';
import type { BlobStore } from './contracts.ts';
import { FetchManager } from './fetches.ts';
import type { FetchLimits } from './fetch.ts';
import { MapStore } from './maps.ts';
import { PieceStore } from './partial.ts';
import { newServeStats, type DdnContext } from './serve.ts';

// The delivery network inside a node: where its files live in the node home and how the node
// start-up gets the context the API serves from.

export const ddnPaths = (home: string) => ({
  root: join(home, 'ddn'),
  /** The blob store's own directory (its layout is the store's business). */
  blobs: join(home, 'ddn', 'blobs'),
  partial: join(home, 'ddn', 'partial'),
  maps: join(home, 'ddn', 'maps'),
});

/** The delivery context over a blob store, with its partial downloads and maps under `home`. */
export function createDdnContext(home: string, blobStore: BlobStore, o: { limits?: Partial<FetchLimits>; testCorruptPieces?: number } = {}): DdnContext {
  const p = ddnPaths(home);
  const pieceStore = new PieceStore(p.partial);
  const mapStore = new MapStore(p.maps);
  return {
    blobStore,
    pieceStore,
    mapStore,
    fetches: new FetchManager({ store: blobStore, pieces: pieceStore, maps: mapStore, limits: o.limits }),
    stats: newServeStats(),
    ...(o.testCorruptPieces ? { testCorruptPieces: o.testCorruptPieces } : {}),
  };
}

/**
 * How the node opens its blob store. The on-disk store (the OCI registry's) is built on another
 * branch; until it is merged and opened here by default, a node has delivery endpoints only when
 * something provided a store (the delivery tests preload a minimal one).
 */
let openBlobStore: ((dir: string) => BlobStore | Promise<BlobStore>) | undefined;

export function provideBlobStore(open: (dir: string) => BlobStore | Promise<BlobStore>): void {
  openBlobStore = open;
}

/** The delivery context of a node home, or undefined when the node has no blob store. */
export async function openNodeDdn(home: string, o: { testCorruptPieces?: number } = {}): Promise<DdnContext | undefined> {
  if (!openBlobStore) return undefined;
  return createDdnContext(home, await openBlobStore(ddnPaths(home).blobs), o);
}
