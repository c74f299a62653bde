import { Rng } from './workload.ts';

// The randomized fault schedule of a run (issue 16, `npm run faults`): which fault, on whom, when
// and for how long — a pure function of the seed, so a run that found something is replayed by
// giving its seed again. Faults come one at a time, each followed by a quiet spell in which the
// network must heal (the checker measures how long commits took to resume).

/** Every nemesis the runner knows, by the name `--nemesis` takes. */
export const NEMESES = ['partition', 'pause', 'kill', 'clock', 'disk', 'bandwidth'] as const;
export type Nemesis = (typeof NEMESES)[number];

/** One fault: what it does and to which bookkeepers (indexes), or the worker (by index) for `kill-worker`. */
export type Fault =
  | { kind: 'partition-halves'; sides: [number[], number[]] }
  | { kind: 'partition-isolate'; node: number }
  | { kind: 'partition-bridge'; sides: [number[], number[]]; bridge: number }
  | { kind: 'partition-asymmetric'; from: number; to: number }
  | { kind: 'pause'; nodes: number[] }
  | { kind: 'kill'; node: number }
  | { kind: 'kill-worker'; worker: number }
  | { kind: 'clock'; node: number; offsetMs: number }
  | { kind: 'disk'; node: number; mode: 'truncate-log' | 'flip-log' | 'flip-table' | 'truncate-table' }
  | { kind: 'bandwidth'; node: number; kbit: number };

export interface ScheduledFault {
  /** Milliseconds from the start of the run. */
  at: number;
  /** How long the fault holds before it is healed. */
  holdMs: number;
  nemesis: Nemesis;
  fault: Fault;
}

export interface ScheduleOptions {
  seed: number;
  /** Length of the run; no fault starts in its last quiet spell. */
  durationMs: number;
  nemeses: readonly Nemesis[];
  bookkeepers: number;
  workers: number;
  /** How long a fault holds, at least and at most. */
  holdMs?: [number, number];
  /** The quiet spell after each heal, at least and at most. */
  quietMs?: [number, number];
}

/** Parses `--nemesis a,b`: every name must be one of NEMESES. */
export function parseNemeses(list: string): Nemesis[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error(`--nemesis: name at least one of ${NEMESES.join(', ')}`);
  for (const n of names) if (!(NEMESES as readonly string[]).includes(n)) throw new Error(`--nemesis: unknown "${n}"; one of ${NEMESES.join(', ')}`);
  return [...new Set(names)] as Nemesis[];
}

export function planSchedule(o: ScheduleOptions): ScheduledFault[] {
  if (o.nemeses.length === 0) return [];
  if (o.bookkeepers < 4) throw new Error('a fault schedule needs at least 4 bookkeepers');
  const rng = new Rng(o.seed);
  const rnd = (): number => rng.next();
  const between = ([lo, hi]: [number, number]): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const shuffled = (n: number): number[] => {
    const xs = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  const hold = o.holdMs ?? [5_000, 20_000];
  const quiet = o.quietMs ?? [10_000, 20_000];
  const n = o.bookkeepers;
  const out: ScheduledFault[] = [];
  let at = between(quiet);
  while (true) {
    const holdMs = between(hold);
    const after = between(quiet);
    if (at + holdMs + after > o.durationMs) break;
    const nemesis = pick(o.nemeses);
    const order = shuffled(n);
    const half = Math.floor(n / 2);
    let fault: Fault;
    switch (nemesis) {
      case 'partition': {
        const shape = pick(['halves', 'isolate', 'bridge', 'asymmetric'] as const);
        if (shape === 'halves') fault = { kind: 'partition-halves', sides: [order.slice(0, half).sort(), order.slice(half).sort()] };
        else if (shape === 'isolate') fault = { kind: 'partition-isolate', node: order[0] };
        else if (shape === 'bridge') {
          const rest = order.slice(1);
          const cut = Math.floor(rest.length / 2);
          fault = { kind: 'partition-bridge', bridge: order[0], sides: [rest.slice(0, cut).sort(), rest.slice(cut).sort()] };
        } else fault = { kind: 'partition-asymmetric', from: order[0], to: order[1] };
        break;
      }
      case 'pause':
        fault = { kind: 'pause', nodes: order.slice(0, rnd() < 0.5 ? 1 : 2).sort() };
        break;
      case 'kill':
        fault = o.workers > 0 && rnd() < 0.3 ? { kind: 'kill-worker', worker: Math.floor(rnd() * o.workers) } : { kind: 'kill', node: order[0] };
        break;
      case 'clock':
        fault = { kind: 'clock', node: order[0], offsetMs: rnd() < 0.5 ? 30_000 : -30_000 };
        break;
      case 'disk':
        fault = { kind: 'disk', node: order[0], mode: pick(['truncate-log', 'flip-log', 'flip-table', 'truncate-table'] as const) };
        break;
      case 'bandwidth':
        fault = { kind: 'bandwidth', node: order[0], kbit: 1_000 };
        break;
    }
    out.push({ at, holdMs, nemesis, fault });
    at += holdMs + after;
  }
  return out;
}
