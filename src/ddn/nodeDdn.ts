import { join } from 'node:path';
import type { BlobStore } from './contracts.ts';
import { FetchManager } from './fetches.ts';
import { ImageFetches } from './images.ts';
import type { FetchLimits } from './fetch.ts';
import { MapStore } from './maps.ts';
import { PieceStore } from './partial.ts';
import { newServeStats, type DdnContext } from './serve.ts';
import { DiskBlobStore } from './store.ts';

// The delivery network inside a node: where its files live in the node home and how the node
// start-up gets the context the API serves from.

export const ddnPaths = (home: string) => ({
  root: join(home, 'ddn'),
  partial: join(home, 'ddn', 'partial'),
  maps: join(home, 'ddn', 'maps'),
});

/** The delivery context over a blob store, with its partial downloads and maps under `home`. */
export function createDdnContext(
  home: string,
  blobStore: BlobStore,
  o: { limits?: Partial<FetchLimits>; testCorruptPieces?: number; peers?: string[] | (() => string[]) } = {},
): DdnContext {
  const p = ddnPaths(home);
  const pieceStore = new PieceStore(p.partial);
  const mapStore = new MapStore(p.maps);
  // Two requests at a time to an origin over all of the node's fetches: the origin's uplink is what
  // peer-to-peer delivery exists to spare; while its pieces trickle in, peers trade what they got.
  const fetches = new FetchManager({ store: blobStore, pieces: pieceStore, maps: mapStore, limits: o.limits, originRequests: 2 });
  return {
    blobStore,
    pieceStore,
    mapStore,
    fetches,
    images: new ImageFetches({ store: blobStore, fetches, peers: o.peers ?? [] }),
    stats: newServeStats(),
    ...(o.testCorruptPieces ? { testCorruptPieces: o.testCorruptPieces } : {}),
  };
}

/** A node home's blob store (its OCI registry's) and the delivery context over it. */
export async function openNodeDdn(
  home: string,
  o: { testCorruptPieces?: number; peers?: string[] | (() => string[]) } = {},
): Promise<{ store: DiskBlobStore; ddn: DdnContext }> {
  // One store instance per node process: its locks are in-process.
  const store = await DiskBlobStore.open(ddnPaths(home).root);
  return { store, ddn: createDdnContext(home, store, o) };
}
