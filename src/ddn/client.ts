import type { Digest } from './contracts.ts';
import type { FetchJob, FetchRequest } from './fetches.ts';
import { DdnError } from './pieces.ts';

// What a node's local caller (the worker agent, `zeus image pull`) uses to have its node fetch
// blobs: start fetches, poll their progress, wait for an image's blobs together.

export class DdnNodeClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  /** Starts a fetch on the node (or joins the one running for the blob). */
  async startFetch(req: FetchRequest): Promise<FetchJob> {
    return this.call('POST', '/ddn/fetches', req);
  }

  async fetchJob(digest: Digest): Promise<FetchJob> {
    return this.call('GET', `/ddn/fetches/${digest}`);
  }

  /**
   * Fetches blobs (an image's layers and config) through the node, all at once, polling their
   * progress; resolves when every one is done, rejects with the first failure.
   */
  async fetchAll(
    reqs: readonly FetchRequest[],
    o: { onProgress?: (jobs: FetchJob[]) => void; intervalMs?: number; signal?: AbortSignal } = {},
  ): Promise<FetchJob[]> {
    let jobs = await Promise.all(reqs.map((r) => this.startFetch(r)));
    for (;;) {
      o.onProgress?.(jobs);
      const failed = jobs.find((j) => j.state === 'failed');
      if (failed) throw new DdnError(failed.error?.code ?? 'FETCH_FAILED', `fetch of ${failed.digest} failed: ${failed.error?.message ?? 'no reason given'}`);
      if (jobs.every((j) => j.state === 'done')) return jobs;
      if (o.signal?.aborted) throw new DdnError('ABORTED', 'stopped waiting for the fetches (they go on in the node)');
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 250));
      jobs = await Promise.all(jobs.map((j) => (j.state === 'running' ? this.fetchJob(j.digest) : j)));
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const json = (await res.json().catch(() => undefined)) as (T & { error?: { code: string; message: string } }) | undefined;
    if (!res.ok || !json) throw new DdnError(json?.error?.code ?? `HTTP_${res.status}`, json?.error?.message ?? `${method} ${path} answered ${res.status}`);
    return json;
  }
}
