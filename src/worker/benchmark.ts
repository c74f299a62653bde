import { createHash } from 'node:crypto';

// The benchmark a worker runs at start and records at registration, where it seeds the rating
// (src/market/rating.ts: it counts as ten leases of evidence until the record takes over).
//
// The work is fixed and deterministic — chained SHA-256 over the same 1 MiB block, so every
// machine computes the same digest and the time is all that differs — and single-threaded: the
// cores are offered and priced on their own, so the score says how fast one core is. It stops at
// TIME_LIMIT_MS on a slow machine and scores what it did.

const BLOCK = Buffer.alloc(1024 * 1024, 0x5a);
/** 512 MiB: about half a second on a core with SHA extensions. */
export const BENCHMARK_MIB = 512;
const TIME_LIMIT_MS = 2000;
/**
 * Single-core SHA-256 throughput that scores 1000: a current server core with SHA extensions
 * (node:crypto, OpenSSL) reaches about 2 GiB/s. Faster machines are capped at 1000.
 */
export const REFERENCE_MIB_PER_S = 2048;

export interface BenchmarkResult {
  /** 0..1000: the chain's benchmark scale. */
  score: number;
  mibPerSecond: number;
  mib: number;
  ms: number;
  /** Digest of the chain: the same on every machine that did the full work. */
  digest: string;
}

/** The chain's 0..1000 score for a single-core SHA-256 throughput; at least 1 for a machine that ran it. */
export function scoreOf(mibPerSecond: number): number {
  return Math.max(1, Math.min(1000, Math.round((1000 * mibPerSecond) / REFERENCE_MIB_PER_S)));
}

export function runBenchmark(mib: number = BENCHMARK_MIB, now: () => number = () => performance.now()): BenchmarkResult {
  const start = now();
  let h: Buffer = Buffer.alloc(32);
  let done = 0;
  while (done < mib) {
    h = createHash('sha256').update(h).update(BLOCK).digest();
    done += 1;
    // Checked every 16 MiB: reading the clock per block would be part of what is measured.
    if (done % 16 === 0 && now() - start > TIME_LIMIT_MS) break;
  }
  const ms = Math.max(now() - start, 0.001);
  // The score is of the rate as reported, so anyone can recompute it from the result.
  const mibPerSecond = Math.round((done * 1000) / ms);
  return { score: scoreOf(mibPerSecond), mibPerSecond, mib: done, ms: Math.round(ms), digest: h.toString('hex') };
}
