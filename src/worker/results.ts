import { createHash } from 'node:crypto';
import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { createRegistryToken, type Digest } from '../ddn/index.ts';

// A batch result goes into the node's registry as a plain blob, pushed with a registry token the
// worker's key signs. The repository is `<worker address>/results`: a namespace belongs to its
// first pusher, so a shared `results/…` namespace would belong to whichever worker came first;
// the worker's own address is the namespace nobody else has a reason to claim. Anyone may pull
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

export async function uploadResult(node: string, key: KeyPair, bytes: Uint8Array): Promise<{ repository: string; digest: Digest }> {
  const repository = resultRepository(encodeAddress(addressFromPublicKey(key.publicKey)));
  const digest = await uploadBlob(node, await registryAuthorization(node, key), repository, bytes, 'result blob');
  return { repository, digest };
}
