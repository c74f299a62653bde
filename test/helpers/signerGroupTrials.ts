import { performance } from 'node:perf_hooks';
import type { SignStep } from '../../src/consensus/index.ts';
import type { EtcdCluster } from './etcd.ts';
import { EtcdAdmin, hash32, SignatureBook, TestMember } from './signerGroup.ts';

// Randomized failover trials for a seat group against a real etcd cluster (issue 18, point 4).
// A trial is one signing slot — a (height, round, step) — with a fault injected just before it.
// Every live member races to sign the slot with a block hash of its own (the worst case: each
// would sign something else), retrying until one is authorized or the slot's patience runs out
// (then the seat missed the slot); afterwards every member, a deposed one included, tries once more
// with its own hash. Faults:
//   none          a plain race among the three
//   deposed       the active member stalls with its clock frozen (it keeps believing it leads)
//                 and etcd ends its lease: it races the new leader for the slot
//   crash         the active member dies without resigning; etcd ends its lease at once (as an
//                 expiry would), and the member restarts
//   crash-expiry  the same, but the lease runs out on its own (ttl): the slow one
//   pause         the active member stalls past its lease (real clock): it must stand down
//   etcd-kill     one etcd member killed (or, if one is down, restarted)
//   etcd-pause    one etcd member stopped (SIGSTOP) for the slot
//   quorum-loss   two etcd members killed for the slot, restarted after it
// The book of every authorization must never hold two hashes for one (height, round, step).

export const TRIAL_FAULTS = ['none', 'deposed', 'crash', 'crash-expiry', 'pause', 'etcd-kill', 'etcd-pause', 'quorum-loss'] as const;
export type TrialFault = (typeof TRIAL_FAULTS)[number];

/** Cheap faults often, the slow ones (a lease running out, etcd restarting) rarely. */
export const DEFAULT_WEIGHTS: Record<TrialFault, number> = {
  none: 40,
  deposed: 20,
  crash: 18,
  'crash-expiry': 2,
  pause: 2,
  'etcd-kill': 8,
  'etcd-pause': 8,
  'quorum-loss': 2,
};

export interface TrialsOptions {
  cluster: EtcdCluster;
  trials: number;
  seed: number;
  group?: string;
  leaseTtlSec?: number;
  /** How long a slot waits for an authorization before the seat counts it missed (default 300 ms, a short block interval). */
  slotMs?: number;
  weights?: Partial<Record<TrialFault, number>>;
  log?: (line: string) => void;
}

export interface TrialsResult {
  seed: number;
  trials: number;
  ms: number;
  faults: Record<TrialFault, number>;
  /** Slots (one per trial) with an authorization, and without (the seat missed them). */
  signed: number;
  missed: number;
  missedAfter: Record<TrialFault, number>;
  authorizations: number;
  /** Attempts refused, by the refusal's name. */
  refusals: Record<string, number>;
  /** A deposed member's attempts that reached etcd (it thought it led) and were refused there. */
  deposedRefusedByEtcd: number;
  conflicts: ReturnType<SignatureBook['conflicts']>;
  /** From a crash whose lease ran out on its own, or a pause, to another member being active (ms). */
  takeoverMs: number[];
  /**
   * Times two members (neither with a frozen clock) counted themselves active at once, sampled
   * every 2 ms: the trial and fault each began in, and how long it lasted. Safe (the transaction's
   * compare refuses the deposed one) but worth knowing: an etcd raft leader that was paused or cut
   * off still renews leases until it learns of its successor (etcd 3.4 renews without a raft round).
   */
  overlaps: { trial: number; fault: TrialFault; ms: number }[];
}

/** A small seeded generator (mulberry32): a failing seed names the sequence of faults it ran. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runFailoverTrials(o: TrialsOptions): Promise<TrialsResult> {
  const { cluster } = o;
  const random = rng(o.seed);
  const group = o.group ?? `trials-${o.seed}`;
  const ttl = o.leaseTtlSec ?? 1;
  const slotMs = o.slotMs ?? 300;
  const weights = { ...DEFAULT_WEIGHTS, ...o.weights };
  const total = TRIAL_FAULTS.reduce((s, f) => s + weights[f], 0);
  const pickFault = (): TrialFault => {
    let x = random() * total;
    for (const f of TRIAL_FAULTS) {
      x -= weights[f];
      if (x < 0) return f;
    }
    return 'none';
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const zero = (): Record<TrialFault, number> => Object.fromEntries(TRIAL_FAULTS.map((f) => [f, 0])) as Record<TrialFault, number>;

  const book = new SignatureBook();
  const members = await Promise.all(['m0', 'm1', 'm2'].map((n) => TestMember.create(n, book)));
  const joinOptions = { endpoints: cluster.endpoints, group, leaseTtlSec: ttl, campaignEveryMs: 50, callTimeoutMs: 1_000 };
  const admin = new EtcdAdmin(cluster, group);
  const result: TrialsResult = {
    seed: o.seed,
    trials: 0,
    ms: 0,
    faults: zero(),
    signed: 0,
    missed: 0,
    missedAfter: zero(),
    authorizations: 0,
    refusals: {},
    deposedRefusedByEtcd: 0,
    conflicts: [],
    takeoverMs: [],
    overlaps: [],
  };
  let current = { trial: 0, fault: 'none' as TrialFault };
  let overlapSince = 0;
  let overlapAt = current;
  const sampler = setInterval(() => {
    const both = members.filter((m) => m.active && m.frozenAt === undefined).length > 1;
    if (both && !overlapSince) {
      overlapSince = performance.now();
      overlapAt = current;
    } else if (!both && overlapSince) {
      result.overlaps.push({ ...overlapAt, ms: Math.round(performance.now() - overlapSince) });
      overlapSince = 0;
    }
  }, 2);
  const started = performance.now();
  let height = 1;
  let round = 0;
  let stepIndex = 0;
  const steps: SignStep[] = ['proposal', 'prevote', 'precommit'];
  const pending: Promise<unknown>[] = [];
  const watchTakeover = (from: TestMember, at: number): void => {
    pending.push(
      (async () => {
        for (let waited = 0; waited < 10_000; waited += 5) {
          if (members.some((m) => m !== from && m.active)) {
            result.takeoverMs.push(Math.round(performance.now() - at));
            return;
          }
          await sleep(5);
        }
      })(),
    );
  };

  try {
    for (const m of members) await m.join(joinOptions);
    for (let trial = 0; trial < o.trials; trial++) {
      const slot = { height, round, step: steps[stepIndex] };
      let fault = pickFault();
      // The fault's subject: the member etcd names as leader, if it also counts itself active
      // (one just back from a frozen clock may believe it leads while another does).
      const holder = await admin.leader().catch(() => undefined);
      const a = members.find((m) => m.name === holder?.member && m.active && m.frozenAt === undefined);
      if (!a && ['deposed', 'crash', 'crash-expiry', 'pause'].includes(fault)) fault = 'none';
      result.faults[fault]++;
      current = { trial, fault };
      const after: (() => Promise<void> | void)[] = [];
      let deposed: TestMember | undefined;
      switch (fault) {
        case 'none':
          break;
        case 'deposed': {
          a!.frozenAt = performance.now();
          a!.group!.suspend(1e9);
          await admin.expireLeader().catch(() => undefined);
          deposed = a;
          after.push(async () => {
            a!.frozenAt = undefined;
            a!.group?.suspend(0);
            // Its clock moves again; it counts itself active until a refused compare or its next
            // keepalive (the lease is gone) tells it otherwise. Wait for that, so that the next
            // trial's overlap and takeover figures are about the next fault, not this one.
            for (let waited = 0; a!.active && waited < 3_000; waited += 5) await sleep(5);
          });
          break;
        }
        case 'crash':
        case 'crash-expiry': {
          a!.crash();
          if (fault === 'crash') await admin.client.leaseClient.leaseRevoke({ ID: holder!.lease }).catch(() => undefined);
          else watchTakeover(a!, performance.now());
          await a!.join(joinOptions); // the process restarts at once, on its guard
          break;
        }
        case 'pause':
          a!.group!.suspend(ttl * 1000 + 300);
          watchTakeover(a!, performance.now());
          break;
        case 'etcd-kill': {
          const down = [0, 1, 2].filter((i) => !cluster.running(i));
          if (down.length > 0) await cluster.restart(down[0], false);
          else await cluster.kill(pick([0, 1, 2]));
          break;
        }
        case 'etcd-pause': {
          const up = [0, 1, 2].filter((i) => cluster.running(i));
          if (up.length === 3) {
            const i = pick(up);
            cluster.pause(i);
            after.push(() => cluster.resume(i));
          }
          break;
        }
        case 'quorum-loss': {
          const up = [0, 1, 2].filter((i) => cluster.running(i));
          const victims = up.length === 3 ? [pick(up)] : [];
          victims.push(pick(up.filter((i) => !victims.includes(i))));
          await Promise.all(victims.map((i) => cluster.kill(i)));
          after.push(async () => {
            for (const i of [0, 1, 2]) if (!cluster.running(i)) await cluster.restart(i, false);
          });
          break;
        }
      }

      // The race for the slot.
      const hashes = new Map(members.map((m) => [m, hash32()]));
      const deadline = performance.now() + slotMs;
      let done = false;
      const note = (r: { ok: boolean; why?: string; error?: string }, m: TestMember): void => {
        if (r.ok) {
          done = true;
          return;
        }
        const why = r.why ?? '?';
        result.refusals[why] = (result.refusals[why] ?? 0) + 1;
        if (m === deposed && r.error?.includes('lost the leadership')) result.deposedRefusedByEtcd++;
      };
      const racers = [...new Set([...members.filter((m) => m.signer), ...(deposed ? [deposed] : [])])];
      await Promise.all(
        racers.map(async (m) => {
          while (!done && performance.now() < deadline) {
            note(await m.sign(slot.height, slot.round, slot.step, hashes.get(m)!), m);
            if (!done) await sleep(5);
          }
        }),
      );
      if (done) {
        result.signed++;
        for (const m of racers) if (m.signer) note(await m.sign(slot.height, slot.round, slot.step, hashes.get(m)!), m);
      } else {
        result.missed++;
        result.missedAfter[fault]++;
      }
      for (const fn of after) await fn();
      result.trials++;
      const conflicts = book.conflicts();
      if (conflicts.length > 0) {
        result.conflicts = conflicts;
        o.log?.(`trial ${trial} (seed ${o.seed}, fault ${fault}): CONFLICT ${JSON.stringify(conflicts)}`);
        break;
      }
      if ((trial + 1) % 100 === 0) o.log?.(`${trial + 1} trials, ${result.missed} missed, ${Math.round(performance.now() - started)} ms`);

      // The next slot: the next step, or the next height; now and then a new round.
      stepIndex++;
      if (stepIndex === 3 || random() < 0.05) {
        if (stepIndex < 3 || random() < 0.1) round++;
        else {
          height++;
          round = 0;
        }
        stepIndex = 0;
      }
    }
    await Promise.all(pending);
  } finally {
    clearInterval(sampler);
    result.ms = Math.round(performance.now() - started);
    result.authorizations = book.all.length;
    result.conflicts = book.conflicts();
    await Promise.all(members.map((m) => m.close().catch(() => undefined)));
    admin.close();
    for (const i of [0, 1, 2]) {
      cluster.resume(i);
      if (!cluster.running(i)) await cluster.restart(i, false);
    }
  }
  return result;
}
