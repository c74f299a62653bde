import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore, Digest } from './contracts.ts';
import { RegistryError } from './errors.ts';
import { digestOf, fsyncPath, hashFile, renameDurably, sha256Digest, unlessMissing, writeFileAtomic } from './files.ts';
import { RwLock } from './lock.ts';
import { readManifest, type Descriptor, type ManifestFacts } from './manifest.ts';
import { checkRepositoryName, digestHex, isDigest, isTag } from './names.ts';
import { UploadSessions } from './uploads.ts';

// The node's content-addressed store behind its OCI registry, on disk under <home>/ddn:
//
//   blobs/sha256/ab/<hex>                              verified content (layers, configs, manifests)
//   uploads/<uuid>/{data,session.json}                 upload sessions in progress
//   repositories/<name>/_layers/sha256/<hex>           the blobs a repository serves (empty files)
//   repositories/<name>/_manifests/revisions/sha256/<hex>   its manifests ({"mediaType"})
//   repositories/<name>/_manifests/tags/<tag>          tag -> digest
//   repositories/<name>/_referrers/sha256/<subject>/<hex>   manifests whose subject is <subject>
//   tmp/                                               temporary files of writes in progress
//
// A file enters blobs/ only by rename after its SHA-256 was checked against its name, so every
// blob there is served as is. Repository names and tags pass the spec's grammar before they
// become paths; the `_` directories cannot collide with a name component (those start [a-z0-9]).

const HOUR = 3_600_000;
const TEMP_STALE_MS = 60_000;

export interface GcOptions {
  /** Unreferenced blobs younger than this stay: a push uploads its blobs before its manifest. */
  blobGraceMs?: number;
  /** Upload sessions idle for longer than this are abandoned. */
  uploadMaxIdleMs?: number;
  now?: number;
}

export interface GcReport {
  blobsKept: number;
  blobsRemoved: number;
  bytesFreed: number;
  uploadsRemoved: number;
  linksRemoved: number;
  tempFilesRemoved: number;
}

interface Revision {
  mediaType: string;
}

export class DiskBlobStore implements BlobStore {
  readonly root: string;
  readonly tmpDir: string;
  readonly uploads: UploadSessions;
  private readonly lock = new RwLock();

  private constructor(root: string) {
    this.root = root;
    this.tmpDir = join(root, 'tmp');
    this.uploads = new UploadSessions(join(root, 'uploads'), this);
  }

  /** Opens (creating) the store in `root`, usually `<home>/ddn`. */
  static async open(root: string): Promise<DiskBlobStore> {
    const s = new DiskBlobStore(root);
    for (const d of ['blobs/sha256', 'uploads', 'repositories', 'tmp']) await mkdir(join(root, d), { recursive: true });
    await s.dropStaleTemp(Date.now());
    await s.uploads.load();
    return s;
  }

  /**
   * Removes temporary files a crash left behind. A write keeps its temporary file for
   * milliseconds (upload data lives in uploads/, not here), so one a minute old is abandoned.
   */
  private async dropStaleTemp(now: number): Promise<number> {
    let removed = 0;
    for (const name of await this.list(this.tmpDir)) {
      const file = join(this.tmpDir, name);
      const st = await stat(file).catch(() => undefined);
      if (st && now - st.mtimeMs >= TEMP_STALE_MS) {
        await rm(file, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private blobFile(d: Digest): string {
    const hex = digestHex(d);
    return join(this.root, 'blobs', 'sha256', hex.slice(0, 2), hex);
  }

  private repoDir(repository: string): string {
    return join(this.root, 'repositories', ...checkRepositoryName(repository).split('/'));
  }

  private layerLink(repository: string, d: Digest): string {
    return join(this.repoDir(repository), '_layers', 'sha256', digestHex(d));
  }

  private revisionLink(repository: string, d: Digest): string {
    return join(this.repoDir(repository), '_manifests', 'revisions', 'sha256', digestHex(d));
  }

  private tagFile(repository: string, tag: string): string {
    if (!isTag(tag))
      throw new RegistryError('TAG_INVALID', `invalid tag "${tag.slice(0, 200)}": up to 128 characters [a-zA-Z0-9_.-], not starting with "." or "-"`);
    return join(this.repoDir(repository), '_manifests', 'tags', tag);
  }

  private referrerDir(repository: string, subject: Digest): string {
    return join(this.repoDir(repository), '_referrers', 'sha256', digestHex(subject));
  }

  // --- blobs ---

  async size(d: Digest): Promise<number | undefined> {
    if (!isDigest(d)) return undefined;
    return (await unlessMissing(stat(this.blobFile(d)), undefined))?.size;
  }

  async has(d: Digest): Promise<boolean> {
    return (await this.size(d)) !== undefined;
  }

  async path(d: Digest): Promise<string | undefined> {
    return (await this.has(d)) ? this.blobFile(d) : undefined;
  }

  async importFile(d: Digest, file: string): Promise<void> {
    if (!isDigest(d)) throw new RegistryError('DIGEST_INVALID', `invalid digest "${String(d).slice(0, 100)}"`);
    const actual = digestOf((await hashFile(file)).hash);
    if (actual !== d) throw new RegistryError('DIGEST_INVALID', `${file} has digest ${actual}, not ${d}`, { detail: { expected: d, actual } });
    await fsyncPath(file);
    await this.adopt(file, d);
  }

  /**
   * Moves a file whose digest the caller has verified into the store as blob `d`, or drops it
   * when `d` is stored already (then the stored blob counts as fresh again for the collector).
   */
  adopt(file: string, d: Digest): Promise<void> {
    return this.lock.shared(async () => {
      const target = this.blobFile(d);
      if (await this.touch(target)) await rm(file, { force: true });
      else await renameDurably(file, target);
    });
  }

  /** Refreshes a file's mtime; false when it does not exist. */
  private touch(path: string): Promise<boolean> {
    const now = new Date();
    return unlessMissing(
      utimes(path, now, now).then(() => true),
      false,
    );
  }

  private async exists(path: string): Promise<boolean> {
    return (await unlessMissing(stat(path), undefined)) !== undefined;
  }

  // --- repositories ---

  async repositoryExists(repository: string): Promise<boolean> {
    const dir = this.repoDir(repository);
    for (const sub of ['_layers', '_manifests']) if (await this.exists(join(dir, sub))) return true;
    return false;
  }

  /** Whether `repository` serves blob `d` (pushed or mounted there, or one of its manifests). */
  async hasBlobIn(repository: string, d: Digest): Promise<boolean> {
    if (!(await this.has(d))) return false;
    return (await this.exists(this.layerLink(repository, d))) || (await this.exists(this.revisionLink(repository, d)));
  }

  /** Makes stored blob `d` part of `repository`; false when the store does not hold it. */
  linkBlob(repository: string, d: Digest): Promise<boolean> {
    return this.lock.shared(async () => {
      if (!(await this.touch(this.blobFile(d)))) return false;
      await this.writeLink(this.layerLink(repository, d), '');
      return true;
    });
  }

  async unlinkBlob(repository: string, d: Digest): Promise<boolean> {
    return this.removeFile(this.layerLink(repository, d));
  }

  private async writeLink(path: string, content: string): Promise<void> {
    if (content === '' && (await this.exists(path))) return;
    await writeFileAtomic(this.tmpDir, path, content);
  }

  private removeFile(path: string): Promise<boolean> {
    return unlessMissing(
      rm(path).then(() => true),
      false,
    );
  }

  // --- manifests ---

  async putManifest(repository: string, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Digest> {
    checkRepositoryName(repository);
    if (tag !== undefined) this.tagFile(repository, tag);
    return this.storeManifest(repository, bytes, readManifest(bytes, mediaType), tag);
  }

  /**
   * Stores a manifest `readManifest` accepted: every blob it needs must be stored (with the size
   * it states) and every manifest an index lists must be in the repository. The manifest's bytes
   * are kept exactly as pushed; its digest is returned.
   */
  storeManifest(repository: string, bytes: Uint8Array, facts: ManifestFacts, tag?: string): Promise<Digest> {
    const digest = sha256Digest(bytes);
    return this.lock.shared(async () => {
      for (const b of facts.blobs) {
        const size = await this.size(b.digest);
        if (size === undefined) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references blob ${b.digest}, which this registry does not hold: push the blob first`, {
            detail: { digest: b.digest },
          });
        }
        if (size !== b.size) {
          throw new RegistryError('MANIFEST_INVALID', `manifest says blob ${b.digest} has ${b.size} bytes, but it has ${size}`, {
            detail: { digest: b.digest, size },
          });
        }
      }
      for (const m of facts.manifests) {
        if (!(await this.exists(this.revisionLink(repository, m.digest))) || (await this.size(m.digest)) === undefined) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `index lists manifest ${m.digest}, which is not in ${repository}: push it first`, {
            detail: { digest: m.digest },
          });
        }
      }
      const file = this.blobFile(digest);
      if (!(await this.touch(file))) await writeFileAtomic(this.tmpDir, file, bytes);
      for (const b of facts.blobs) await this.writeLink(this.layerLink(repository, b.digest), '');
      await writeFileAtomic(this.tmpDir, this.revisionLink(repository, digest), JSON.stringify({ mediaType: facts.mediaType } satisfies Revision));
      if (facts.subject) await this.writeLink(join(this.referrerDir(repository, facts.subject.digest), digestHex(digest)), '');
      if (tag !== undefined) await writeFileAtomic(this.tmpDir, this.tagFile(repository, tag), digest);
      return digest;
    });
  }

  private async readRevision(repository: string, d: Digest): Promise<Revision | undefined> {
    const text = await unlessMissing(readFile(this.revisionLink(repository, d), 'utf8'), undefined);
    return text === undefined ? undefined : (JSON.parse(text) as Revision);
  }

  private async tagTarget(repository: string, tag: string): Promise<Digest | undefined> {
    const d = (await unlessMissing(readFile(this.tagFile(repository, tag), 'utf8'), ''))?.trim();
    return isDigest(d) ? d : undefined;
  }

  /** The digest a tag or digest reference names in `repository`, if it holds that manifest. */
  async resolve(repository: string, reference: string): Promise<Digest | undefined> {
    const d = isDigest(reference) ? reference : isTag(reference) ? await this.tagTarget(repository, reference) : undefined;
    return d !== undefined && (await this.exists(this.revisionLink(repository, d))) ? d : undefined;
  }

  async getManifest(repository: string, reference: string): Promise<{ bytes: Uint8Array; mediaType: string; digest: Digest } | undefined> {
    const digest = await this.resolve(repository, reference);
    if (digest === undefined) return undefined;
    const rev = await this.readRevision(repository, digest);
    const bytes = rev && (await unlessMissing(readFile(this.blobFile(digest)), undefined));
    return rev && bytes ? { bytes: new Uint8Array(bytes), mediaType: rev.mediaType, digest } : undefined;
  }

  /** Removes a manifest from a repository with every tag on it and its referrers entry. */
  async deleteManifest(repository: string, d: Digest): Promise<boolean> {
    const m = await this.getManifest(repository, d);
    if (!m) return false;
    for (const tag of (await this.tags(repository)) ?? []) {
      if ((await this.tagTarget(repository, tag)) === d) await this.removeFile(this.tagFile(repository, tag));
    }
    try {
      const subject = readManifest(m.bytes, m.mediaType).subject;
      if (subject) await this.removeFile(join(this.referrerDir(repository, subject.digest), digestHex(d)));
    } catch {
      // a manifest the store accepted reads again; if not, there is no referrers entry to drop
    }
    return this.removeFile(this.revisionLink(repository, d));
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.removeFile(this.tagFile(repository, tag));
  }

  /** Tags in lexical order, or undefined when the repository does not exist. */
  async tags(repository: string): Promise<string[] | undefined> {
    if (!(await this.repositoryExists(repository))) return undefined;
    return (await this.list(join(this.repoDir(repository), '_manifests', 'tags'))).filter(isTag).sort();
  }

  /** Descriptors of the manifests in `repository` whose subject is `subject`. */
  async referrers(repository: string, subject: Digest): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const hex of (await this.list(this.referrerDir(repository, subject))).sort()) {
      const d: Digest = `sha256:${hex}`;
      const m = isDigest(d) ? await this.getManifest(repository, d) : undefined;
      if (!m) continue;
      const facts = readManifest(m.bytes, m.mediaType);
      out.push({
        mediaType: m.mediaType,
        digest: d,
        size: m.bytes.length,
        ...(facts.artifactType === undefined ? {} : { artifactType: facts.artifactType }),
        ...(facts.annotations ? { annotations: facts.annotations } : {}),
      });
    }
    return out;
  }

  private list(dir: string): Promise<string[]> {
    return unlessMissing(readdir(dir), []);
  }

  /** Names of every repository in the store. */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await unlessMissing(readdir(dir, { withFileTypes: true }), []);
      if (prefix && entries.some((e) => e.name === '_manifests' || e.name === '_layers')) out.push(prefix);
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('_')) await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(join(this.root, 'repositories'), '');
    return out.sort();
  }

  // --- garbage collection ---

  /**
   * Removes blobs no stored manifest or index needs (older than the grace period), links to
   * blobs that are gone, abandoned upload sessions and temporary files left by crashes. Holds
   * the store's lock exclusively, so no push can land a manifest on a blob being swept.
   */
  async gc(o: GcOptions = {}): Promise<GcReport> {
    const now = o.now ?? Date.now();
    const grace = o.blobGraceMs ?? HOUR;
    const report = await this.lock.exclusive(async () => {
      const report: GcReport = { blobsKept: 0, blobsRemoved: 0, bytesFreed: 0, uploadsRemoved: 0, linksRemoved: 0, tempFilesRemoved: 0 };
      const repositories = await this.repositories();
      const needed = new Set<string>();
      for (const repo of repositories) {
        for (const hex of await this.list(join(this.repoDir(repo), '_manifests', 'revisions', 'sha256'))) {
          const d: Digest = `sha256:${hex}`;
          const m = isDigest(d) ? await this.getManifest(repo, d) : undefined;
          if (!m) continue;
          needed.add(hex);
          try {
            for (const b of readManifest(m.bytes, m.mediaType).blobs) needed.add(digestHex(b.digest));
          } catch {
            // every stored manifest passed readManifest when pushed; one that no longer reads keeps only itself
          }
        }
      }
      const blobRoot = join(this.root, 'blobs', 'sha256');
      for (const prefix of await this.list(blobRoot)) {
        for (const hex of await this.list(join(blobRoot, prefix))) {
          if (needed.has(hex)) {
            report.blobsKept++;
            continue;
          }
          const file = join(blobRoot, prefix, hex);
          const st = await stat(file).catch(() => undefined);
          if (!st || now - st.mtimeMs < grace) {
            if (st) report.blobsKept++;
            continue;
          }
          await rm(file, { force: true });
          report.blobsRemoved++;
          report.bytesFreed += st.size;
        }
      }
      for (const repo of repositories) report.linksRemoved += await this.dropDeadLinks(repo);
      report.tempFilesRemoved = await this.dropStaleTemp(now);
      return report;
    });
    // Outside the lock: completing an upload holds its session and then waits for the lock.
    report.uploadsRemoved = await this.uploads.expire(now - (o.uploadMaxIdleMs ?? HOUR));
    return report;
  }

  /** Drops a repository's blob links, revisions, tags and referrer entries that lead nowhere. */
  private async dropDeadLinks(repo: string): Promise<number> {
    let removed = 0;
    const drop = async (path: string): Promise<void> => {
      if (await this.removeFile(path)) removed++;
    };
    const dir = this.repoDir(repo);
    for (const hex of await this.list(join(dir, '_layers', 'sha256'))) {
      if (!(await this.has(`sha256:${hex}`))) await drop(join(dir, '_layers', 'sha256', hex));
    }
    for (const hex of await this.list(join(dir, '_manifests', 'revisions', 'sha256'))) {
      if (!(await this.has(`sha256:${hex}`))) await drop(join(dir, '_manifests', 'revisions', 'sha256', hex));
    }
    for (const tag of await this.list(join(dir, '_manifests', 'tags'))) {
      if (!isTag(tag) || (await this.resolve(repo, tag)) === undefined) await drop(join(dir, '_manifests', 'tags', tag));
    }
    for (const subject of await this.list(join(dir, '_referrers', 'sha256'))) {
      for (const hex of await this.list(join(dir, '_referrers', 'sha256', subject))) {
        if ((await this.resolve(repo, `sha256:${hex}`)) === undefined) await drop(join(dir, '_referrers', 'sha256', subject, hex));
      }
    }
    return removed;
  }
}
