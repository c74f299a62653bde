import { createHash, randomUUID, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from './contracts.ts';
import { RegistryError } from './errors.ts';
import { digestOf, fsyncPath, hashFile, isMissing, unlessMissing } from './files.ts';
import { KeyedMutex } from './lock.ts';

// Blob upload sessions: uploads/<uuid>/data grows chunk by chunk (each PATCH appends at the
// offset where the last one ended) and becomes a blob only when the client names its digest
// and the bytes hash to it. A session's running SHA-256 is kept in memory so completing it
// needs no second pass over hundreds of MiB; after a restart it is rebuilt from the file.

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface UploadSession {
  readonly uuid: string;
  readonly repository: string;
}

interface SessionFile {
  repository: string;
  startedAt: number;
}

export interface AppendOptions {
  /** Where the client says the chunk starts (Content-Range); must be the current size. */
  start?: number;
  /** How many bytes the client says the chunk has (Content-Range); checked after reading. */
  length?: number;
  /** Largest blob accepted. */
  maxBytes: number;
}

/** Where blobs whose digest checked out go (the store). */
export interface BlobSink {
  adopt(file: string, d: Digest): Promise<void>;
}

export class UploadSessions {
  private readonly dir: string;
  private readonly sink: BlobSink;
  private readonly hashes = new Map<string, { size: number; hash: Hash }>();
  private readonly mutex = new KeyedMutex();

  constructor(dir: string, sink: BlobSink) {
    this.dir = dir;
    this.sink = sink;
  }

  private dataFile(uuid: string): string {
    return join(this.dir, uuid, 'data');
  }

  async start(repository: string): Promise<UploadSession> {
    const uuid = randomUUID();
    await mkdir(join(this.dir, uuid), { recursive: true });
    await writeFile(join(this.dir, uuid, 'session.json'), JSON.stringify({ repository, startedAt: Date.now() } satisfies SessionFile));
    await writeFile(this.dataFile(uuid), new Uint8Array(0), { flag: 'wx' });
    this.hashes.set(uuid, { size: 0, hash: createHash('sha256') });
    return { uuid, repository };
  }

  /** The session `uuid` of `repository`, or BLOB_UPLOAD_UNKNOWN. */
  async find(uuid: string, repository: string): Promise<UploadSession> {
    const unknown = new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload ${uuid.slice(0, 64)} in progress for ${repository}: start one with POST /v2/${repository}/blobs/uploads/`);
    if (!UUID_RE.test(uuid)) throw unknown;
    let meta: SessionFile;
    try {
      meta = JSON.parse(await readFile(join(this.dir, uuid, 'session.json'), 'utf8')) as SessionFile;
    } catch (e) {
      if (isMissing(e) || e instanceof SyntaxError) throw unknown;
      throw e;
    }
    if (meta.repository !== repository) throw unknown;
    return { uuid, repository };
  }

  /** Bytes received so far. */
  async size(s: UploadSession): Promise<number> {
    const st = await unlessMissing(stat(this.dataFile(s.uuid)), undefined);
    if (!st) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${s.uuid} was cancelled or has expired`);
    return st.size;
  }

  /**
   * Appends a request body to the session, streaming it to disk. A body that fails midway (the
   * client went away, a length check failed) is cut off again, so the session stands where the
   * last complete chunk left it. Returns the new size.
   */
  append(s: UploadSession, body: AsyncIterable<Uint8Array>, o: AppendOptions): Promise<number> {
    return this.mutex.run(s.uuid, () => this.appendLocked(s, body, o));
  }

  private async appendLocked(s: UploadSession, body: AsyncIterable<Uint8Array>, o: AppendOptions): Promise<number> {
    const start = await this.size(s);
    if (o.start !== undefined && o.start !== start) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at byte ${o.start}, but the upload has ${start} bytes: send the chunk that starts at ${start}`, {
        status: 416,
        detail: { size: start },
      });
    }
    const state = await this.hashState(s.uuid, start);
    const hash = state.hash.copy();
    const fh = await open(this.dataFile(s.uuid), 'r+');
    let at = start;
    try {
      for await (const chunk of body) {
        if (at + chunk.length > o.maxBytes) {
          throw new RegistryError('SIZE_INVALID', `blob exceeds the ${o.maxBytes} bytes this registry accepts`, { status: 413 });
        }
        await fh.write(chunk, 0, chunk.length, at);
        hash.update(chunk);
        at += chunk.length;
      }
      if (o.length !== undefined && at - start !== o.length) {
        throw new RegistryError('SIZE_INVALID', `Content-Range announced ${o.length} bytes but the body had ${at - start}`);
      }
    } catch (e) {
      await fh.truncate(start);
      throw e;
    } finally {
      await fh.close();
    }
    this.hashes.set(s.uuid, { size: at, hash });
    return at;
  }

  /** The running hash of the first `size` bytes, rebuilt from disk when not in memory. */
  private async hashState(uuid: string, size: number): Promise<{ size: number; hash: Hash }> {
    const known = this.hashes.get(uuid);
    if (known && known.size === size) return known;
    const { hash } = await hashFile(this.dataFile(uuid), size);
    const state = { size, hash };
    this.hashes.set(uuid, state);
    return state;
  }

  /**
   * Ends the session as blob `digest`: optional last chunk, fsync, digest check, then the store
   * adopts the file by rename. A digest that does not match ends the session (DIGEST_INVALID).
   */
  complete(s: UploadSession, digest: Digest, lastChunk?: { body: AsyncIterable<Uint8Array>; options: AppendOptions }): Promise<void> {
    return this.mutex.run(s.uuid, async () => {
      if (lastChunk) await this.appendLocked(s, lastChunk.body, lastChunk.options);
      const size = await this.size(s);
      const file = this.dataFile(s.uuid);
      await fsyncPath(file);
      const actual = digestOf((await this.hashState(s.uuid, size)).hash.copy());
      if (actual !== digest) {
        await this.remove(s.uuid);
        throw new RegistryError('DIGEST_INVALID', `the ${size} uploaded bytes have digest ${actual}, not ${digest}; the upload is discarded, start again`, {
          detail: { expected: digest, actual, size },
        });
      }
      await this.sink.adopt(file, digest);
      await this.remove(s.uuid);
    });
  }

  cancel(s: UploadSession): Promise<void> {
    return this.mutex.run(s.uuid, () => this.remove(s.uuid));
  }

  private async remove(uuid: string): Promise<void> {
    this.hashes.delete(uuid);
    await rm(join(this.dir, uuid), { recursive: true, force: true });
  }

  /** Removes sessions that received nothing since `cutoff` (ms); returns how many. */
  async expire(cutoff: number): Promise<number> {
    let removed = 0;
    for (const uuid of await readdir(this.dir).catch(() => [] as string[])) {
      await this.mutex.run(uuid, async () => {
        const dir = join(this.dir, uuid);
        const st = (await stat(join(dir, 'data')).catch(() => undefined)) ?? (await stat(dir).catch(() => undefined));
        if (st && st.mtimeMs < cutoff) {
          await this.remove(uuid);
          removed++;
        }
      });
    }
    return removed;
  }
}
