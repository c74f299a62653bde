import { createHash } from 'node:crypto';
import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { createRegistryToken, type Digest } from '../ddn/index.ts';

// A batch result goes into the node's registry as a tagged artifact, pushed with a registry token
// the worker's key signs. The repository is `<worker address>/results`: a namespace that is an
// address belongs to that address on every node (docs/DDN.md), so nobody else can push there, while
// a shared `results/…` would be open to every account. Anyone may pull
// the blob by its digest, which is what SubmitResult records. The sealed logs of a lease go the
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
  a: { repository: string; tag: string; artifactType: string; layerType: string; bytes: Uint8Array; annotations: Record<string, string>; what: string },
): Promise<Digest> {
  const auth = await registryAuthorization(node, key);
  const config = await uploadBlob(node, auth, a.repository, OCI_EMPTY.bytes, `${a.what} config`);
  const digest = await uploadBlob(node, auth, a.repository, a.bytes, a.what);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: a.artifactType,
    config: { mediaType: OCI_EMPTY.mediaType, digest: config, size: OCI_EMPTY.bytes.length },
    layers: [{ mediaType: a.layerType, digest, size: a.bytes.length }],
    annotations: a.annotations,
  });
  const res = await fetch(`${node}/v2/${a.repository}/manifests/${a.tag}`, { method: 'PUT', headers: { authorization: auth, 'content-type': OCI_MANIFEST }, body: manifest });
  if (res.status !== 201) throw new Error(`the node refused the ${a.what} manifest ${a.tag} (HTTP ${res.status}): ${(await res.text()).slice(0, 300)}`);
  return digest;
}

/** A batch lease's /out archive, as `<worker>/results:result-<task>-<lease>`; its blob digest is what SubmitResult records. */
export async function uploadResult(node: string, key: KeyPair, bytes: Uint8Array, lease: { task: string; lease: number }): Promise<{ repository: string; digest: Digest }> {
  const repository = resultRepository(encodeAddress(addressFromPublicKey(key.publicKey)));
  const digest = await publishArtifact(node, key, {
    repository,
    tag: artifactTag('result', lease.task, lease.lease),
    artifactType: RESULT_ARTIFACT_TYPE,
    layerType: RESULT_LAYER_TYPE,
    bytes,
    annotations: { 'net.zeus.task': lease.task, 'net.zeus.lease': String(lease.lease) },
    what: 'result',
  });
  return { repository, digest };
}
