import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifySignature } from '../crypto/index.ts';

export interface SignatureCheck {
  pk: Uint8Array;
  msg: Uint8Array;
  sig: Uint8Array;
}

const INLINE_BELOW = 8;

/**
 * Ed25519 verification on worker threads, so the event loop keeps decoding, executing and
 * answering while signatures are checked in parallel. Small batches are checked inline:
 * a round trip to a thread costs more than a few verifications.
 */
export class SignatureVerifier {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, (ok: Uint8Array) => void>();
  private nextId = 0;
  private rr = 0;

  constructor(threads = Math.max(1, availableParallelism() - 1)) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL('./verifyWorker.ts', import.meta.url));
      w.on('message', (m: { id: number; ok: Uint8Array }) => {
        this.pending.get(m.id)?.(m.ok);
        this.pending.delete(m.id);
      });
      w.on('error', (e) => {
        // A crashed verifier must not silently accept anything: fail every open request.
        for (const [id, resolve] of this.pending) {
          resolve(new Uint8Array(0));
          this.pending.delete(id);
        }
        console.error('signature verifier thread failed:', e);
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** One boolean per item: true only for a valid signature. */
  async verify(items: SignatureCheck[]): Promise<boolean[]> {
    if (items.length < INLINE_BELOW || this.workers.length === 0) return items.map((it) => verifySignature(it.pk, it.msg, it.sig));
    // Split across threads; every part goes to a thread, the event loop stays free.
    const parts = this.workers.length;
    const size = Math.ceil(items.length / parts);
    const results = await Promise.all(Array.from({ length: parts }, (_, p) => this.send(items.slice(p * size, (p + 1) * size))));
    const out: boolean[] = [];
    for (const r of results) for (let i = 0; i < r.length; i++) out.push(r[i] === 1);
    while (out.length < items.length) out.push(false);
    return out;
  }

  private send(items: SignatureCheck[]): Promise<Uint8Array> {
    if (items.length === 0) return Promise.resolve(new Uint8Array(0));
    const id = this.nextId++;
    const w = this.workers[this.rr++ % this.workers.length];
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      w.postMessage({ id, items });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
