import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { createRegistryToken, type Digest } from '../ddn/index.ts';
import { canonicalDigest, canonicalTar, type ResultTree } from './canonicalResult.ts';

// A batch result goes into the node's registry as a tagged artifact, pushed with a registry token
// the worker's key signs. The repository is `<worker address>/results`: a namespace that is an
// address belongs to that address on every node (docs/DDN.md), so nobody else can push there, while
// a shared `results/…` would be open to every account. Anyone may pull
// the blob by its digest, which is what SubmitResult records — so the result of a lease compared
// with others' is pushed only once its group's reveal phase is open (uploadResultFile). The sealed logs of a lease go the
// same way into `<worker address>/logs` (src/worker/logs.ts).

export const resultRepository = (worker: string): string => `${worker}/results`;

export const digestOf = (bytes: Uint8Array): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

/** The HTTP Basic header that lets `key` push to `node`'s registry for ten minutes. */
export async function registryAuthorization(node: string, key: KeyPair): Promise<string> {
  const address = encodeAddress(addressFromPublicKey(key.publicKey));
  const info = (await (await fetch(`${node}/v2/_auth/info`)).json()) as { audience: string };
  const token = createRegistryToken(key, { audience: info.audience, nowMs: Date.now(), ttlSeconds: 600 });
  return `Basic ${Buffer.from(`${address}:${token}`).toString('base64')}`;
}

/** Pushes `bytes` as one blob of `repository` (a monolithic upload: POST …/blobs/uploads/?digest= with the whole blob). */
export async function uploadBlob(node: string, authorization: string, repository: string, bytes: Uint8Array, what = 'blob'): Promise<Digest> {
  const digest = digestOf(bytes);
  const res = await fetch(`${node}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`the node refused the ${what} ${digest} (HTTP ${res.status}): ${(await res.text()).slice(0, 300)}`);
  return digest;
}

/** A blob sent as it is read: its digest and size known beforehand (a canonical result is hashed in a first pass). */
export interface StreamedBlob {
  digest: Digest;
  size: number;
  chunks: () => AsyncIterable<Uint8Array>;
}

/** Pushes a blob of any size without holding it: one monolithic POST whose body is streamed. */
export async function uploadStreamedBlob(node: string, authorization: string, repository: string, blob: StreamedBlob, what = 'blob'): Promise<Digest> {
  const iterator = blob.chunks()[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  const res = await fetch(`${node}/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
    body,
    duplex: 'half',
  } as RequestInit);
  if (res.status !== 201) throw new Error(`the node refused the ${what} ${blob.digest} (HTTP ${res.status}): ${(await res.text()).slice(0, 300)}`);
  return blob.digest;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', bytes: new TextEncoder().encode('{}') };
export const RESULT_ARTIFACT_TYPE = 'application/vnd.zeusnet.result.v1';
const RESULT_LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

/** Where a lease's artifact goes in its repository: also what keeps the registry's GC from freeing it. */
export const artifactTag = (kind: 'logs' | 'result', task: string, lease: number): string => `${kind}-${task}-${lease}`;

/**
 * Pushes `bytes` as the one layer of an OCI artifact (empty config) tagged `tag`. A bare blob would
 * be collected by the registry's garbage collection once its grace passed; a tagged manifest keeps it.
 */
export async function publishArtifact(
  node: string,
  key: KeyPair,
  a: {
    repository: string;
    tag: string;
    artifactType: string;
    layerType: string;
    bytes: Uint8Array | StreamedBlob;
    annotations: Record<string, string>;
    what: string;
  },
): Promise<Digest> {
  const auth = await registryAuthorization(node, key);
  const config = await uploadBlob(node, auth, a.repository, OCI_EMPTY.bytes, `${a.what} config`);
  const streamed = a.bytes instanceof Uint8Array ? undefined : a.bytes;
  const digest = streamed
    ? await uploadStreamedBlob(node, auth, a.repository, streamed, a.what)
    : await uploadBlob(node, auth, a.repository, a.bytes as Uint8Array, a.what);
  const size = streamed ? streamed.size : (a.bytes as Uint8Array).length;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: a.artifactType,
    config: { mediaType: OCI_EMPTY.mediaType, digest: config, size: OCI_EMPTY.bytes.length },
    layers: [{ mediaType: a.layerType, digest, size }],
    annotations: a.annotations,
  });
  const res = await fetch(`${node}/v2/${a.repository}/manifests/${a.tag}`, {
    method: 'PUT',
    headers: { authorization: auth, 'content-type': OCI_MANIFEST },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`the node refused the ${a.what} manifest ${a.tag} (HTTP ${res.status}): ${(await res.text()).slice(0, 300)}`);
  return digest;
}

/**
 * A batch lease's result: the canonical archive of its /out (src/worker/canonicalResult.ts),
 * hashed in a first pass and streamed to the node in a second, so its size is bounded by the
 * lease's disk and never by the agent's memory. Published as `<worker>/results:result-<task>-<lease>`;
 * its digest is what SubmitResult records.
 */
export async function uploadResult(
  node: string,
  key: KeyPair,
  tree: ResultTree,
  lease: { task: string; lease: number },
  digest?: Digest,
): Promise<{ repository: string; digest: Digest }> {
  return publishResult(node, key, { digest: digest ?? (await canonicalDigest(tree)), size: tree.tarBytes, chunks: () => canonicalTar(tree) }, lease);
}

/**
 * A compared lease's result (redundancy group, verifier seat) is published only once its reveal
 * phase is open (docs/MARKET.md, "Fairness: commit and reveal"): until then the canonical archive
 * waits in the lease's directory as `file`, whose sha256 is `digest`.
 */
export async function uploadResultFile(
  node: string,
  key: KeyPair,
  file: string,
  digest: Digest,
  lease: { task: string; lease: number },
): Promise<{ repository: string; digest: Digest }> {
  return publishResult(node, key, { digest, size: statSync(file).size, chunks: () => createReadStream(file) }, lease);
}

async function publishResult(
  node: string,
  key: KeyPair,
  blob: StreamedBlob,
  lease: { task: string; lease: number },
): Promise<{ repository: string; digest: Digest }> {
  const repository = resultRepository(encodeAddress(addressFromPublicKey(key.publicKey)));
  const published = await publishArtifact(node, key, {
    repository,
    tag: artifactTag('result', lease.task, lease.lease),
    artifactType: RESULT_ARTIFACT_TYPE,
    layerType: RESULT_LAYER_TYPE,
    bytes: blob,
    annotations: { 'net.zeus.task': lease.task, 'net.zeus.lease': String(lease.lease) },
    what: 'result',
  });
  return { repository, digest: published };
}

/** What fetching a result from one node gave. */
export type FetchedResult = { ok: true; bytes: number } | { ok: false; why: string };

/**
 * Downloads the blob at `url` into `file` as it arrives (any size, never held whole), hashing it
 * on the way; the file appears only when the bytes hash to `expected` (a `.part` file otherwise
 * removed). A node that does not answer or answers otherwise is a miss, said in `why`; bytes that
 * hash to something else are refused with an error.
 */
export async function fetchResultTo(url: string, file: string, expected: Digest): Promise<FetchedResult> {
  const res = await fetch(url).catch(() => undefined);
  if (!res?.ok || !res.body) return { ok: false, why: res ? `HTTP ${res.status} from ${url}` : `${new URL(url).origin} does not answer` };
  const part = `${file}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), tap, createWriteStream(part));
  } catch (e) {
    rmSync(part, { force: true });
    return { ok: false, why: `${url} broke off after ${bytes} bytes: ${(e as Error).message}` };
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== expected) {
    rmSync(part, { force: true });
    throw new Error(`the bytes served hash to ${got}, not to the lease's result ${expected}: refusing them`);
  }
  renameSync(part, file);
  return { ok: true, bytes };
}
