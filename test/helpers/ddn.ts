import { randomBytes } from 'node:crypto';
import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Digest } from '../../src/ddn/contracts.ts';
import { createDdnContext, ddnPaths, ddnRoutes, DiskBlobStore, fileDigest, type DdnContext } from '../../src/ddn/index.ts';

// Helpers of the delivery tests: random blobs on disk, and /ddn servers in the test process over
// the stand-in blob store (the same plugin a node registers, without the rest of the node).

/** Writes `size` random bytes to `path` and returns their digest. */
export async function writeRandomBlob(path: string, size: number): Promise<Digest> {
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < size; off += 1 << 20) await fh.write(randomBytes(Math.min(1 << 20, size - off)));
  } finally {
    await fh.close();
  }
  return fileDigest(path);
}

/** The blob store of a node home (the one `zeus node start` opens). */
export const homeBlobStore = (home: string): Promise<DiskBlobStore> => DiskBlobStore.open(ddnPaths(home).root);

export interface DdnServer {
  url: string;
  ddn: DdnContext;
  store: DiskBlobStore;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** A /ddn server on 127.0.0.1 over `home`'s stores; `setup` may add hooks before it listens. */
export async function startDdnServer(home: string, o: Parameters<typeof createDdnContext>[2] = {}, setup?: (app: FastifyInstance) => void): Promise<DdnServer> {
  const store = await homeBlobStore(home);
  const ddn = createDdnContext(home, store, o);
  const app = Fastify();
  setup?.(app);
  await app.register(ddnRoutes, { ddn });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    ddn,
    store,
    app,
    close: async () => {
      await ddn.fetches.close();
      await app.close();
    },
  };
}

/** Seeds a blob file into a home's store (a copy: the store takes the file it is given). */
export async function seedBlob(home: string, file: string, digest: Digest): Promise<void> {
  const store = await homeBlobStore(home);
  const tmp = join(ddnPaths(home).root, `seed-${digest.slice(7, 19)}`);
  await copyFile(file, tmp);
  await store.importFile(digest, tmp);
}
