import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore, Digest } from '../../src/ddn/contracts.ts';
import { digestHex, fileDigest } from '../../src/ddn/pieces.ts';

/**
 * A stand-in for the node's blob store, which is built on another branch: verified files by
 * digest under `<dir>/sha256/<hex>`, manifests in memory. It keeps the contract's promises that
 * the fetcher relies on (a blob is there only once its digest checked; importFile moves the file
 * in by rename and is idempotent) and nothing of the registry beyond them.
 */
export class DirBlobStore implements BlobStore {
  readonly dir: string;
  private readonly manifests = new Map<string, { bytes: Uint8Array; mediaType: string; digest: Digest }>();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, 'sha256'), { recursive: true });
  }

  private file(d: Digest): string {
    return join(this.dir, 'sha256', digestHex(d));
  }

  async has(d: Digest): Promise<boolean> {
    return existsSync(this.file(d));
  }

  async size(d: Digest): Promise<number | undefined> {
    return (await this.has(d)) ? (await stat(this.file(d))).size : undefined;
  }

  async path(d: Digest): Promise<string | undefined> {
    return (await this.has(d)) ? this.file(d) : undefined;
  }

  async importFile(d: Digest, file: string): Promise<void> {
    const actual = await fileDigest(file);
    if (actual !== d) throw new Error(`importFile: ${file} hashes to ${actual}, not ${d}`);
    if (await this.has(d)) return void (await rm(file, { force: true }));
    await rename(file, this.file(d));
  }

  async putManifest(repository: string, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Digest> {
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const m = { bytes, mediaType, digest };
    this.manifests.set(`${repository}@${digest}`, m);
    if (tag) this.manifests.set(`${repository}:${tag}`, m);
    return digest;
  }

  async getManifest(repository: string, reference: string): Promise<{ bytes: Uint8Array; mediaType: string; digest: Digest } | undefined> {
    return this.manifests.get(reference.startsWith('sha256:') ? `${repository}@${reference}` : `${repository}:${reference}`);
  }
}
