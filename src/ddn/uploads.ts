import { createHash, randomUUID, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from './contracts.ts';
import { RegistryError } from './errors.ts';
import { digestOf, fsyncPath, hashFile, isMissing, unlessMissing } from './files.ts';
import { KeyedMutex } from './lock.ts';
import { DEFAULT_UPLOAD_LIMITS, formatBytes, TIER_WORDS, type Amounts, type Tier, type UploadAllowance, type UploadLimits } from './quota.ts';

// Blob upload sessions: uploads/<uuid>/data grows chunk by chunk (each PATCH appends at the
// offset where the last one ended) and becomes a blob only when the client names its digest
// and the bytes hash to it. A session's running SHA-256 is kept in memory so completing it
// needs no second pass over hundreds of MiB; after a restart it is rebuilt from the file.
//
// Every session belongs to the account that started it (only that account may add to it, complete
// or cancel it), and what sessions hold is counted per account, per class of account and for the
// node, so that uploads in progress stay within quota.ts's bounds: a chunk that would go over is
// refused before it is written (429 TOOMANYREQUESTS, reason UPLOAD_QUOTA), and cut back like any
// chunk that fails midway.

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface UploadSession {
  readonly uuid: string;
  readonly repository: string;
  /** The account that started it (sessions from before accounts were recorded have none). */
  readonly account?: string;
}

interface SessionFile {
  repository: string;
  startedAt: number;
  account?: string;
  tier?: Tier;
}

/** Who is uploading, and what it may hold in uploads in progress. */
export interface UploadQuota {
  account: string;
  allowance: UploadAllowance;
}

/** A session in progress as the counters see it. */
interface Live {
  repository: string;
  account?: string;
  tier?: Tier;
  /** Bytes counted for it: its data file's size, plus a chunk being written. */
  size: number;
  /** When it last received bytes (ms). */
  touched: number;
}

const zero = (): Amounts => ({ sessions: 0, bytes: 0 });

export interface AppendOptions {
  /** Where the client says the chunk starts (Content-Range); must be the current size. */
  start?: number;
  /** How many bytes the client says the chunk has (Content-Range); checked after reading. */
  length?: number;
  /** Largest blob accepted. */
  maxBytes: number;
  /** The request body's Content-Length, when it has one: checked against the quota before reading. */
  declared?: number;
  /** The uploader's quota (omitted: only the node's bounds apply). */
  quota?: UploadQuota;
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
  private readonly live = new Map<string, Live>();
  private readonly byAccount = new Map<string, Amounts>();
  private readonly byTier = new Map<Tier, Amounts>();
  private readonly total = zero();
  /** Sessions with a step running (their mutex held): never expired from under it. */
  private readonly busy = new Set<string>();
  /** The node's bounds and the idle time after which a session is dropped (the registry sets them). */
  limits: UploadLimits = DEFAULT_UPLOAD_LIMITS;

  constructor(dir: string, sink: BlobSink) {
    this.dir = dir;
    this.sink = sink;
  }

  private dataFile(uuid: string): string {
    return join(this.dir, uuid, 'data');
  }

  /** Counts the sessions on disk (after a restart); the store calls it when it opens. */
  async load(): Promise<void> {
    for (const uuid of await readdir(this.dir).catch(() => [] as string[])) {
      if (!UUID_RE.test(uuid) || this.live.has(uuid)) continue;
      const meta = await this.readMeta(uuid);
      const st = await stat(this.dataFile(uuid)).catch(() => undefined);
      if (!meta || !st) continue; // a session cut short while starting: the collector drops it
      this.track(uuid, { repository: meta.repository, account: meta.account, tier: meta.tier, size: 0, touched: st.mtimeMs });
      this.charge(this.live.get(uuid)!, 0, st.size);
    }
  }

  private async readMeta(uuid: string): Promise<SessionFile | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, uuid, 'session.json'), 'utf8')) as SessionFile;
    } catch (e) {
      if (isMissing(e) || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  /** What `account`'s uploads in progress hold. */
  usage(account: string): Amounts {
    return { ...(this.byAccount.get(account) ?? zero()) };
  }

  /** What all uploads in progress on the node hold. */
  totals(): Amounts {
    return { ...this.total };
  }

  private track(uuid: string, l: Live): void {
    this.live.set(uuid, l);
    this.charge(l, 1, 0);
  }

  private untrack(uuid: string): void {
    const l = this.live.get(uuid);
    if (!l) return;
    this.charge(l, -1, -l.size);
    this.live.delete(uuid);
  }

  /** Adds to (or, negative, takes from) what a session, its account, its tier and the node hold. */
  private charge(l: Live, sessions: number, bytes: number): void {
    const counters = [this.total];
    if (l.tier) counters.push(this.byTier.get(l.tier) ?? this.byTier.set(l.tier, zero()).get(l.tier)!);
    if (l.account) counters.push(this.byAccount.get(l.account) ?? this.byAccount.set(l.account, zero()).get(l.account)!);
    for (const c of counters) {
      c.sessions += sessions;
      c.bytes += bytes;
    }
    l.size += bytes;
    if (l.account && this.byAccount.get(l.account)?.sessions === 0) this.byAccount.delete(l.account);
  }

  /** Why `add` more would not fit, or undefined. */
  private overLimit(
    who: { account?: string; tier?: Tier },
    quota: UploadQuota | undefined,
    add: Amounts,
    fromRequest = 0,
  ): { reason: string; message: string } | undefined {
    const fits = (used: Amounts, max: Amounts): boolean => used.sessions + add.sessions <= max.sessions && used.bytes + add.bytes <= max.bytes;
    const node = this.limits.node;
    if (!fits(this.total, node)) {
      return {
        reason: 'NODE_UPLOADS_FULL',
        message: `this node holds ${this.total.sessions} uploads in progress with ${formatBytes(this.total.bytes)}, as many as it takes (${node.sessions} uploads, ${formatBytes(node.bytes)}); try again in a few minutes or push to another node`,
      };
    }
    if (!quota || !who.account) return undefined;
    const a = quota.allowance;
    const mine = this.byAccount.get(who.account) ?? zero();
    if (!fits(mine, a.account)) {
      const what =
        add.sessions > 0 && mine.sessions + add.sessions > a.account.sessions
          ? `may have ${a.account.sessions} uploads open at once and has ${mine.sessions}`
          : fromRequest > 0
            ? `may hold ${formatBytes(a.account.bytes)} in uploads in progress; this request brought it to ${formatBytes(mine.bytes)} and has more`
            : `may hold ${formatBytes(a.account.bytes)} in uploads in progress and holds ${formatBytes(mine.bytes)}; ${formatBytes(add.bytes)} more do not fit`;
      const idle = Math.round(this.limits.idleMs / 60_000);
      return {
        reason: 'UPLOAD_QUOTA',
        message: `upload quota: ${who.account}, ${TIER_WORDS[a.tier]}, ${what}. Complete or cancel uploads in progress (PUT or DELETE their Location; a completed blob no longer counts, idle uploads expire after ${idle} minute${idle === 1 ? '' : 's'}), or for more, ${a.more}`,
      };
    }
    const tier = who.tier ?? a.tier;
    const pool = this.byTier.get(tier) ?? zero();
    if (!fits(pool, a.pool)) {
      return {
        reason: 'UPLOAD_QUOTA',
        message: `upload quota: the uploads in progress of all ${TIER_WORDS[tier].replace(/^an account/, 'accounts')} fill their share of this node (${a.pool.sessions} uploads, ${formatBytes(a.pool.bytes)}); try again in a few minutes, or for a larger share, ${a.more}`,
      };
    }
    return undefined;
  }

  /**
   * Charges `add` to `l` if it fits the node's bounds and the quota, first dropping idle sessions
   * when it does not; otherwise 429. Check and charge happen in one step, so concurrent requests
   * cannot both take the last room.
   */
  private async admit(l: Live, quota: UploadQuota | undefined, add: Amounts, o: { fromRequest?: number; charge?: boolean } = {}): Promise<void> {
    let over = this.overLimit(l, quota, add, o.fromRequest);
    if (over && (await this.expireIdle()) > 0) over = this.overLimit(l, quota, add, o.fromRequest);
    if (over)
      throw new RegistryError('TOOMANYREQUESTS', over.message, {
        detail: { reason: over.reason, ...(quota ? { usage: this.usage(quota.account), allowance: quota.allowance.account } : {}) },
      });
    if (o.charge !== false) this.charge(l, add.sessions, add.bytes);
  }

  /** Runs a step of one session, marked busy so that expiry leaves it alone. */
  private run<T>(uuid: string, step: () => Promise<T>): Promise<T> {
    return this.mutex.run(uuid, async () => {
      this.busy.add(uuid);
      try {
        return await step();
      } finally {
        this.busy.delete(uuid);
      }
    });
  }

  async start(repository: string, quota?: UploadQuota): Promise<UploadSession> {
    const uuid = randomUUID();
    const l: Live = { repository, account: quota?.account, tier: quota?.allowance.tier, size: 0, touched: Date.now() };
    await this.admit(l, quota, { sessions: 1, bytes: 0 });
    this.live.set(uuid, l);
    try {
      await mkdir(join(this.dir, uuid), { recursive: true });
      await writeFile(
        join(this.dir, uuid, 'session.json'),
        JSON.stringify({ repository, startedAt: Date.now(), account: l.account, tier: l.tier } satisfies SessionFile),
      );
      await writeFile(this.dataFile(uuid), new Uint8Array(0), { flag: 'wx' });
    } catch (e) {
      await this.remove(uuid);
      throw e;
    }
    this.hashes.set(uuid, { size: 0, hash: createHash('sha256') });
    return { uuid, repository, account: l.account };
  }

  /** The session `uuid` of `repository`, or BLOB_UPLOAD_UNKNOWN. */
  async find(uuid: string, repository: string): Promise<UploadSession> {
    const unknown = new RegistryError(
      'BLOB_UPLOAD_UNKNOWN',
      `no upload ${uuid.slice(0, 64)} in progress for ${repository}: start one with POST /v2/${repository}/blobs/uploads/`,
    );
    if (!UUID_RE.test(uuid)) throw unknown;
    const meta = await this.readMeta(uuid);
    if (!meta || meta.repository !== repository) throw unknown;
    return { uuid, repository, account: meta.account };
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
    return this.run(s.uuid, () => this.appendLocked(s, body, o));
  }

  private async appendLocked(s: UploadSession, body: AsyncIterable<Uint8Array>, o: AppendOptions): Promise<number> {
    const start = await this.size(s);
    if (o.start !== undefined && o.start !== start) {
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `chunk starts at byte ${o.start}, but the upload has ${start} bytes: send the chunk that starts at ${start}`,
        {
          status: 416,
          detail: { size: start },
        },
      );
    }
    const state = await this.hashState(s.uuid, start);
    const hash = state.hash.copy();
    const l = this.liveOf(s, start);
    // A body that says its length is refused whole before a byte is read when it cannot fit.
    if (o.declared !== undefined && o.declared > 0) await this.admit(l, o.quota, { sessions: 0, bytes: o.declared }, { charge: false });
    const fh = await open(this.dataFile(s.uuid), 'r+');
    let at = start;
    try {
      for await (const chunk of body) {
        if (at + chunk.length > o.maxBytes) {
          throw new RegistryError('SIZE_INVALID', `blob exceeds the ${o.maxBytes} bytes this registry accepts`, { status: 413 });
        }
        await this.admit(l, o.quota, { sessions: 0, bytes: chunk.length }, { fromRequest: at - start });
        l.touched = Date.now();
        await fh.write(chunk, 0, chunk.length, at);
        hash.update(chunk);
        at += chunk.length;
      }
      if (o.length !== undefined && at - start !== o.length) {
        throw new RegistryError('SIZE_INVALID', `Content-Range announced ${o.length} bytes but the body had ${at - start}`);
      }
    } catch (e) {
      await fh.truncate(start);
      this.charge(l, 0, start - l.size);
      throw e;
    } finally {
      await fh.close();
    }
    this.hashes.set(s.uuid, { size: at, hash });
    return at;
  }

  /** The counters' entry of a session found on disk (one from before a restart is counted anew). */
  private liveOf(s: UploadSession, size: number): Live {
    let l = this.live.get(s.uuid);
    if (!l) {
      l = { repository: s.repository, account: s.account, size: 0, touched: Date.now() };
      this.track(s.uuid, l);
      this.charge(l, 0, size);
    }
    return l;
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
    return this.run(s.uuid, async () => {
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
    return this.run(s.uuid, () => this.remove(s.uuid));
  }

  private async remove(uuid: string): Promise<void> {
    this.hashes.delete(uuid);
    this.untrack(uuid);
    await rm(join(this.dir, uuid), { recursive: true, force: true });
  }

  /** Removes the sessions that received nothing for `limits.idleMs` and are not busy; returns how many. */
  async expireIdle(): Promise<number> {
    const cutoff = Date.now() - this.limits.idleMs;
    let removed = 0;
    for (const [uuid, l] of [...this.live]) {
      if (this.busy.has(uuid) || l.touched >= cutoff) continue;
      await this.mutex.run(uuid, async () => {
        const now = this.live.get(uuid);
        if (now && now.touched < cutoff && !this.busy.has(uuid)) {
          await this.remove(uuid);
          removed++;
        }
      });
    }
    return removed;
  }

  /** Removes sessions that received nothing since `cutoff` (ms); returns how many. */
  async expire(cutoff: number): Promise<number> {
    let removed = 0;
    for (const uuid of await readdir(this.dir).catch(() => [] as string[])) {
      if (this.busy.has(uuid)) continue;
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
