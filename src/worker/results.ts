import { createHash } from 'node:crypto';
import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { createRegistryToken, type Digest } from '../ddn/index.ts';

// A batch result goes into the node's registry as a plain blob, pushed with a registry token the
// worker's key signs. The repository is `<worker address>/results`: a namespace belongs to its
// first pusher, so a shared `results/…` namespace would belong to whichever worker came first;
// the worker's own address is the namespace nobody else has a reason to claim. Anyone may pull
// the blob by its digest, which is what SubmitResult records.

export const resultRepository = (worker: string): string => `${worker}/results`;

export const digestOf = (bytes: Uint8Array): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

export async function uploadResult(node: string, key: KeyPair, bytes: Uint8Array): Promise<{ repository: string; digest: Digest }> {
  const address = encodeAddress(addressFromPublicKey(key.publicKey));
  const info = (await (await fetch(`${node}/v2/_auth/info`)).json()) as { audience: string };
  const token = createRegistryToken(key, { audience: info.audience, nowMs: Date.now(), ttlSeconds: 600 });
  const repository = resultRepository(address);
  const digest = digestOf(bytes);
  // A monolithic upload: POST …/blobs/uploads/?digest= with the whole blob as the body.
  const res = await fetch(`${node}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${address}:${token}`).toString('base64')}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`the node refused the result blob ${digest} (HTTP ${res.status}): ${(await res.text()).slice(0, 300)}`);
  return { repository, digest };
}
