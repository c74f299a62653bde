import { createHash } from 'node:crypto';
import type { Digest } from './contracts.ts';
import { manifestFromPeers, pickPlatform } from './images.ts';
import { readManifest } from './manifest.ts';
import { DdnError } from './pieces.ts';

// Before a worker bids on a task it asks whether the task's image can be had at all: its manifest
// (by the digest the chain records) and its config, from its own node or any of the node's DDN
// peers, each checked against its digest. An image that is nowhere on the network gets no bid, so
// no worker wins a lease it can only fail (docs/MARKET.md, "Fairness: app failures and missing
// images"). The layers are not fetched here — that is the whole image's download, done once a lease
// is won; a layer missing then is what `ReleaseLease` is for.

export interface ImageProbe {
  ok: boolean;
  /** Why not: MANIFEST_UNAVAILABLE, CONFIG_UNAVAILABLE, MANIFEST_INVALID. */
  code?: string;
  message?: string;
}

/** Fetch errors that mean the image (or part of it) is nowhere to be had: the lease is released, not failed. */
export const UNFETCHABLE_IMAGE_CODES: readonly string[] = ['MANIFEST_UNAVAILABLE', 'CONFIG_UNAVAILABLE', 'MANIFEST_INVALID', 'NO_MAP', 'NO_SOURCE'];

const MAX_CONFIG = 4 * 1024 * 1024;
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function configFrom(sources: string[], repository: string, digest: Digest, timeoutMs: number): Promise<boolean> {
  for (const s of sources) {
    try {
      const res = await fetch(`${s}/v2/${repository}/blobs/${digest}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) continue;
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length <= MAX_CONFIG && sha256(bytes) === digest) return true;
    } catch {
      // the next source
    }
  }
  return false;
}

/** Whether `repository@digest`'s manifest and config can be fetched from `node` or its DDN peers. */
export async function probeImage(node: string, req: { repository: string; digest: Digest }, o: { timeoutMs?: number } = {}): Promise<ImageProbe> {
  const timeoutMs = o.timeoutMs ?? 5_000;
  const base = node.replace(/\/+$/, '');
  const peers = await fetch(`${base}/ddn/peers`, { signal: AbortSignal.timeout(timeoutMs) })
    .then(async (r) => (r.ok ? ((await r.json()) as { peers: string[] }).peers : []))
    .catch(() => []);
  const sources = [base, ...peers.map((p) => p.replace(/\/+$/, ''))];
  try {
    let top = await manifestFromPeers(req.repository, req.digest, sources);
    let facts = readManifest(top.bytes, top.mediaType);
    if (facts.kind === 'index') {
      top = await manifestFromPeers(req.repository, pickPlatform(top.bytes), sources);
      facts = readManifest(top.bytes, top.mediaType);
    }
    const config = (JSON.parse(new TextDecoder().decode(top.bytes)) as { config?: { digest?: string } }).config?.digest;
    if (typeof config !== 'string') return { ok: false, code: 'MANIFEST_INVALID', message: `manifest ${req.digest} names no config` };
    if (!(await configFrom(sources, req.repository, config as Digest, timeoutMs))) {
      return { ok: false, code: 'CONFIG_UNAVAILABLE', message: `no source served config ${config} of ${req.repository}@${req.digest}` };
    }
    return { ok: true };
  } catch (e) {
    if (e instanceof DdnError) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: 'MANIFEST_INVALID', message: (e as Error).message };
  }
}
