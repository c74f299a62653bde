import type { StatsSample } from './workload.ts';

// Usage of a lease from the engine's samples, cut into report periods. The chain takes whole
// units, so each period reports the difference of the running totals rounded down: the periods
// always add up to the total (rounded down), and no fraction is lost or counted twice.

const GIB = 1024 ** 3;

export interface PeriodUsage {
  cpuSeconds: bigint;
  memoryGiBSeconds: bigint;
  gpuSeconds: bigint;
  networkBytes: bigint;
  wallMs: bigint;
}

export class Meter {
  private cpuNanos = 0n;
  private memGiBSeconds = 0;
  /** End of the last reported period. */
  private lastAt: number;
  /** Time of the last sample: memory in use is integrated from sample to sample. */
  private sampledAt: number;
  private reported = { cpuSeconds: 0n, memoryGiBSeconds: 0n };

  /**
   * `already`: what the chain has recorded for the lease, when a restarted agent takes it up
   * again. The engine's cpu counter runs from the container's start, so the next period reports
   * only what was not reported before the restart.
   */
  constructor(now: number, already?: { cpuSeconds: bigint; memoryGiBSeconds: bigint }) {
    this.lastAt = now;
    this.sampledAt = now;
    if (already) {
      this.cpuNanos = already.cpuSeconds * 1_000_000_000n;
      this.memGiBSeconds = Number(already.memoryGiBSeconds);
      this.reported = { ...already };
    }
  }

  add(s: StatsSample | undefined, now: number): void {
    if (s) {
      if (s.cpuNanos > this.cpuNanos) this.cpuNanos = s.cpuNanos;
      // Usage × elapsed: an approximation from one-shot samples (the stats stream would be finer).
      this.memGiBSeconds += (s.memoryBytes / GIB) * (Math.max(0, now - this.sampledAt) / 1000);
    }
    this.sampledAt = now;
  }

  /** The period since the last report; `now` becomes its end. */
  period(now: number): PeriodUsage {
    const cpu = this.cpuNanos / 1_000_000_000n;
    const mem = BigInt(Math.floor(this.memGiBSeconds));
    const out = {
      cpuSeconds: cpu - this.reported.cpuSeconds,
      memoryGiBSeconds: mem - this.reported.memoryGiBSeconds,
      gpuSeconds: 0n,
      networkBytes: 0n,
      wallMs: BigInt(Math.max(0, Math.round(now - this.lastAt))),
    };
    this.reported = { cpuSeconds: cpu, memoryGiBSeconds: mem };
    this.lastAt = now;
    return out;
  }
}
