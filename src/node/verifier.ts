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

  /** Signatures checked so far (a transaction's is checked once per node unless it is seen again after being forgotten). */
  checked = 0;

  /** One boolean per item: true only for a valid signature. */
  async verify(items: SignatureCheck[]): Promise<boolean[]> {
    this.checked += items.length;
    if (items.length < INLINE_BELOW || this.workers.length === 0 || !items.every(wellFormed)) return items.map((it) => verifySignature(it.pk, it.msg, it.sig));
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
    const batch = packChecks(items);
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      // One buffer, moved rather than copied: cloning an object per signature cost the event loop
      // about as much as a verification does the thread (bench:consensus --profile).
      w.postMessage({ id, batch }, [batch.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Whether a check has an Ed25519 key and signature's sizes (anything else cannot verify). */
const wellFormed = (it: SignatureCheck): boolean => it.pk.length === 32 && it.sig.length === 64;

/** Signature checks in one buffer for a verifier thread: per check a 4-byte message length, the public key (32), the signature (64) and the message. */
export function packChecks(items: readonly SignatureCheck[]): Uint8Array {
  let size = 0;
  for (const it of items) {
    if (!wellFormed(it)) throw new Error('a signature check without an Ed25519 key and signature');
    size += 100 + it.msg.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const it of items) {
    view.setUint32(at, it.msg.length);
    out.set(it.pk, at + 4);
    out.set(it.sig, at + 36);
    out.set(it.msg, at + 100);
    at += 100 + it.msg.length;
  }
  return out;
}

/** The checks of a packed batch (views into it), in order. */
export function unpackChecks(batch: Uint8Array): SignatureCheck[] {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const out: SignatureCheck[] = [];
  for (let at = 0; at < batch.length; ) {
    const len = view.getUint32(at);
    out.push({ pk: batch.subarray(at + 4, at + 36), sig: batch.subarray(at + 36, at + 100), msg: batch.subarray(at + 100, at + 100 + len) });
    at += 100 + len;
  }
  return out;
}
