import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Digest } from './contracts.ts';
import { loadIntoDocker } from './dockerLoad.ts';
import type { ImageJob } from './images.ts';
import { DdnError } from './pieces.ts';
import { DiskBlobStore } from './store.ts';

// An image from the chain to the local Docker engine, for callers running beside their node
// (`zeus image pull`, the worker agent): the node fetches it from its DDN peers, verified piece
// by piece against the manifest digest the chain records; then its blobs are read straight from
// the node's store and loaded, and the engine's image id must be the verified config digest.

/** Has the node at `node` fetch `repository@digest`; resolves with the finished job. */
export async function fetchImageThroughNode(
  node: string,
  req: { repository: string; digest: Digest; peers?: string[] },
  o: { onProgress?: (job: ImageJob) => void; intervalMs?: number } = {},
): Promise<ImageJob> {
  const start = await fetch(`${node}/ddn/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
  let job = (await start.json()) as ImageJob & { error?: { code: string; message: string } };
  if (!start.ok) throw new DdnError(job.error?.code ?? `HTTP_${start.status}`, `the node refused the fetch: ${job.error?.message ?? start.status}`);
  while (job.state === 'running') {
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 300));
    job = (await (await fetch(`${node}/ddn/images/${req.digest}`)).json()) as ImageJob;
    o.onProgress?.(job);
  }
  if (job.state === 'failed') {
    const code = job.error?.code ?? 'FETCH_FAILED';
    throw new DdnError(code, `fetch of ${req.repository}@${req.digest} failed: ${code}: ${job.error?.message ?? 'no reason given'}`);
  }
  return job;
}

/** Loads a finished image job into Docker from the blob store in `nodeHome`; resolves with the image id. */
export async function loadFetchedImage(nodeHome: string, job: ImageJob, repoTag: string, docker?: Docker): Promise<string> {
  const dir = join(nodeHome, 'ddn');
  const store = await DiskBlobStore.open(dir);
  const path = async (d: Digest): Promise<string> => {
    const f = await store.path(d);
    if (!f) throw new DdnError('BLOB_UNKNOWN', `blob ${d} is not in ${dir}: is the home the one of the node that fetched it?`);
    return f;
  };
  if (!job.config) throw new DdnError('MANIFEST_INVALID', `the fetch of ${job.digest} named no config blob`);
  const layerFiles = await Promise.all((job.layers ?? []).map(async (d) => ({ digest: d, file: await path(d) })));
  return loadIntoDocker({ configDigest: job.config, configFile: await path(job.config), layerFiles, repoTag }, docker);
}
