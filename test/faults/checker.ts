import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOTAL_SUPPLY } from '../../src/ledger/index.ts';
import type { CommittedTx, FinalState, NodeFinal } from './finalState.ts';
import { type History, type HistoryRecord, readHistory } from './history.ts';

// The checker of a fault run (issue 16), after Jepsen's: an independent verdict that reads only the
// history (history.ts) and the nodes' final state (finalState.ts) — and, for liveness, when each
// fault healed — and trusts neither the workload nor the nodes' own checks. `checkRun` is pure.
//
// What it reports (each a Violation; every kind is listed in VIOLATION_KINDS):
//   fork               two block hashes at one height across nodes
//   lost               an ok operation absent from the blocks (a lost acknowledgement)
//   duplicate          an ok or unknown operation present more than once — by its tx hash, or by its
//                      op id in a transfer's memo: a client that signed the op again after a timeout
//                      commits it twice under two hashes
//   failed-committed   a refused operation present in a block
//   wrong-height       an ok operation committed at another height than the node acknowledged
//   unexpected         a transfer from a workload account, after the start, that no operation sent
//   balance            a workload account's ZNC balance on a node ≠ its start + the transfers in the
//                      blocks touching it, to the base unit (ZeusNet has no fees)
//   supply             a node's supply total ≠ 10,000,000,000 ZNC, or a sub-token not fully backed
//   in-flight          value still in flight between inner chains at the end (a receipt not delivered)
//   escrow             a finished task (done, cancelled, expired) or a finished lease holding escrow
//   liveness           commits did not resume within the bound after a fault healed
//   node-unreadable / node-halted / node-lagging: a node that could not be read at the end, whose
//                      consensus halted, or that stayed behind the others (it did not catch up)
//
// Operations are grouped by op id: a workload may write one record per attempt of the same op
// (an unknown, then a retry). The group's outcome is ok if any attempt was ok, else unknown if any
// was, else fail; its transactions are every attempt's hash plus, for transfers, any committed
// transfer whose memo is the op id.

export const VIOLATION_KINDS = [
  'fork',
  'lost',
  'duplicate',
  'failed-committed',
  'wrong-height',
  'unexpected',
  'balance',
  'supply',
  'in-flight',
  'escrow',
  'liveness',
  'node-unreadable',
  'node-halted',
  'node-lagging',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  kind: ViolationKind;
  message: string;
  ops?: string[];
  heights?: number[];
  nodes?: string[];
  accounts?: string[];
  tasks?: string[];
  txs?: string[];
}

/** When a fault ended (from the nemesis log): commits must resume within the bound after it. */
export interface Heal {
  healedAt: number;
  fault: string;
}

export interface CheckOptions {
  heals?: Heal[];
  /** How long after a heal commits must have resumed (default 30 s). */
  livenessBoundMs?: number;
  /** How far behind the highest node a node may end (default 5 blocks). */
  maxLagBlocks?: number;
}

export interface OutcomeCounts {
  ok: number;
  fail: number;
  unknown: number;
  /** Unknown operations found in the blocks, and not found. */
  unknownCommitted: number;
  unknownAbsent: number;
}

export interface Verdict {
  valid: boolean;
  violations: Violation[];
  counts: {
    /** Per operation kind (operations grouped by op id), and over all kinds. */
    ops: Record<string, OutcomeCounts>;
    all: OutcomeCounts;
    records: number;
    nodes: number;
    /** Heights whose hashes were compared on two nodes or more. */
    heightsCompared: number;
    maxHeight: number;
    committedTxs: number;
    /** Balances compared (account × node), and accounts left out because they sent a non-transfer transaction. */
    balancesChecked: number;
    accountsSkipped: string[];
    tasksChecked: number;
    /** Heals judged, not judged (the run ended before the bound), and the longest time to resume. */
    heals: { judged: number; unjudged: number; longestResumeMs: number | null; longestAfter: string | null };
  };
}

const FINISHED_TASK = new Set(['done', 'cancelled', 'expired']);
const FINISHED_LEASE = new Set(['failed', 'cancelled', 'settled']);
const ZNC = 'ZNC';

/** The verdict over a run: pure, reads only its arguments. */
export function checkRun(history: History, final: FinalState, o: CheckOptions = {}): Verdict {
  const v: Violation[] = [];
  const readable = final.nodes.filter((n) => n.error === undefined);
  const maxHeight = Math.max(0, ...readable.map((n) => n.heightAfter));

  // ---- nodes
  for (const n of final.nodes) {
    if (n.error !== undefined) v.push({ kind: 'node-unreadable', nodes: [n.node], message: `${n.node} could not be read at the end: ${n.error}` });
    else if (n.halted) v.push({ kind: 'node-halted', nodes: [n.node], message: `${n.node} halted after height ${n.halted.height}: ${n.halted.reason}` });
  }
  const maxLag = o.maxLagBlocks ?? 5;
  for (const n of readable) {
    if (maxHeight - n.heightAfter > maxLag) {
      v.push({
        kind: 'node-lagging',
        nodes: [n.node],
        heights: [n.heightAfter],
        message: `${n.node} ended at height ${n.heightAfter}, ${maxHeight - n.heightAfter} behind the highest (${maxHeight}): it did not catch up`,
      });
    }
  }

  // ---- forks
  const heightsCompared = checkForks(readable, v);

  // ---- operations against the blocks
  const txs = final.txs;
  const byHash = new Map<string, CommittedTx[]>();
  const byMemo = new Map<string, CommittedTx[]>();
  for (const t of txs) {
    push(byHash, t.hash, t);
    if (t.kind === 'Transfer' && t.memo) push(byMemo, t.memo, t);
  }
  const groups = new Map<string, HistoryRecord[]>();
  for (const r of history.records) push(groups, r.op, r);
  const zero = (): OutcomeCounts => ({ ok: 0, fail: 0, unknown: 0, unknownCommitted: 0, unknownAbsent: 0 });
  const ops: Record<string, OutcomeCounts> = {};
  const all = zero();
  const claimed = new Set<string>();
  for (const [op, rs] of groups) {
    const outcome = rs.some((r) => r.outcome === 'ok') ? 'ok' : rs.some((r) => r.outcome === 'unknown') ? 'unknown' : 'fail';
    const kind = rs[0].kind;
    const found = new Map<string, CommittedTx>();
    for (const r of rs) for (const t of byHash.get(r.tx) ?? []) found.set(`${t.hash}@${t.height}`, t);
    if (kind === 'transfer') for (const t of byMemo.get(rs[0].memo || op) ?? []) found.set(`${t.hash}@${t.height}`, t);
    const at = [...found.values()];
    for (const t of at) claimed.add(t.hash);
    const c = (ops[kind] ??= zero());
    c[outcome]++;
    all[outcome]++;
    const where = at.map((t) => `${t.hash.slice(0, 12)}… at height ${t.height} (chain ${t.chain})`).join(', ');
    const nodes = [...new Set(rs.map((r) => r.node))];
    if (outcome === 'ok') {
      if (at.length === 0)
        v.push({ kind: 'lost', ops: [op], txs: rs.map((r) => r.tx), nodes, message: `${kind} ${op} was acknowledged ok${okHeight(rs)} but is in no block` });
      else if (at.length > 1) v.push(duplicate(op, kind, outcome, at, where, nodes));
      else {
        const h = rs.find((r) => r.outcome === 'ok' && r.height !== undefined)?.height;
        if (h !== undefined && h !== at[0].height) {
          v.push({
            kind: 'wrong-height',
            ops: [op],
            heights: [h, at[0].height],
            nodes,
            message: `${kind} ${op} was acknowledged at height ${h} but committed at height ${at[0].height}`,
          });
        }
      }
    } else if (outcome === 'unknown') {
      if (at.length > 0) {
        c.unknownCommitted++;
        all.unknownCommitted++;
      } else {
        c.unknownAbsent++;
        all.unknownAbsent++;
      }
      if (at.length > 1) v.push(duplicate(op, kind, outcome, at, where, nodes));
    } else if (at.length > 0) {
      const codes = [...new Set(rs.map((r) => r.code ?? '?'))].join(', ');
      v.push({
        kind: 'failed-committed',
        ops: [op],
        heights: at.map((t) => t.height),
        txs: at.map((t) => t.hash),
        nodes,
        message: `${kind} ${op} was refused (${codes}) but committed: ${where}`,
      });
    }
  }

  // ---- transfers nobody sent; balances
  const accounts = Object.keys(history.header.balances);
  const workload = new Set(accounts);
  const startAt = history.header.balancesAt ?? 0;
  const after = txs.filter((t) => t.height > startAt);
  for (const t of after) {
    if (t.kind === 'Transfer' && workload.has(t.from) && !claimed.has(t.hash)) {
      v.push({
        kind: 'unexpected',
        txs: [t.hash],
        heights: [t.height],
        accounts: [t.from],
        message: `a transfer from workload account ${t.from} (memo "${t.memo ?? ''}") committed at height ${t.height} matches no operation of the history`,
      });
    }
  }
  const skipped = new Set(after.filter((t) => t.kind !== 'Transfer' && workload.has(t.from)).map((t) => t.from));
  let balancesChecked = 0;
  for (const n of readable) {
    // Heights past the node's first status read may or may not be in the balances it answered.
    const unsure = new Set(after.filter((t) => t.height > n.height && t.height <= n.heightAfter).flatMap((t) => [t.from, t.to ?? '']));
    for (const a of accounts) {
      if (skipped.has(a) || unsure.has(a) || n.balances[a] === undefined) continue;
      let want = BigInt(history.header.balances[a]);
      for (const t of after) {
        if (t.height > n.height || t.kind !== 'Transfer' || (t.token ?? ZNC) !== ZNC) continue;
        const amount = BigInt(t.amount ?? '0');
        if (t.from === a) want -= amount;
        if (t.to === a) want += amount;
      }
      const got = BigInt(n.balances[a]);
      balancesChecked++;
      if (got !== want) {
        v.push({
          kind: 'balance',
          accounts: [a],
          nodes: [n.node],
          heights: [n.height],
          message: `${a} holds ${got} base units on ${n.node} at height ${n.height}; its start ${history.header.balances[a]} and the transfers in the blocks give ${want} (${signed(got - want)})`,
        });
      }
    }
  }

  // ---- supply, in flight
  for (const n of readable) {
    const total = BigInt(n.supply.total);
    if (total !== TOTAL_SUPPLY) {
      v.push({
        kind: 'supply',
        nodes: [n.node],
        heights: [n.height],
        message: `${n.node} reports a supply of ${total} base units, ${signed(total - TOTAL_SUPPLY)} from the fixed ${TOTAL_SUPPLY}`,
      });
    }
    for (const [sym, t] of Object.entries(n.supply.tokens)) {
      if (t.supply !== t.backed || t.supply !== t.circulating) {
        v.push({
          kind: 'supply',
          nodes: [n.node],
          message: `${n.node}: token ${sym} has supply ${t.supply}, backing ${t.backed}, circulating ${t.circulating}`,
        });
      }
    }
    if (BigInt(n.supply.inFlight) !== 0n || n.receiptsInFlight !== 0) {
      v.push({
        kind: 'in-flight',
        nodes: [n.node],
        heights: [n.height],
        message: `${n.node} still has ${n.receiptsInFlight} receipt(s), ${n.supply.inFlight} base units, in flight between chains at the end (height ${n.height})`,
      });
    }
  }

  // ---- escrow of finished tasks
  const tasks = Object.values(final.tasks);
  for (const t of tasks) {
    const finished = FINISHED_TASK.has(t.state);
    const left = finished ? [t.escrow, t.feeEscrow, t.held, t.feeHeld].map(BigInt).reduce((a, b) => a + b, 0n) : 0n;
    if (left !== 0n) {
      v.push({
        kind: 'escrow',
        tasks: [t.id],
        message: `task ${t.id} is ${t.state} but still holds escrow ${t.escrow}, fee escrow ${t.feeEscrow}, held ${t.held}, fee held ${t.feeHeld}`,
      });
    }
    for (const l of t.leases) {
      if (FINISHED_LEASE.has(l.state) && (BigInt(l.held) !== 0n || BigInt(l.feeHeld) !== 0n)) {
        v.push({ kind: 'escrow', tasks: [t.id], message: `lease ${l.index} of task ${t.id} is ${l.state} but still holds ${l.held} (fee ${l.feeHeld})` });
      }
    }
  }

  // ---- liveness
  const heals = checkLiveness(history, final, o, v);

  return {
    valid: v.length === 0,
    violations: v,
    counts: {
      ops,
      all,
      records: history.records.length,
      nodes: final.nodes.length,
      heightsCompared,
      maxHeight,
      committedTxs: txs.length,
      balancesChecked,
      accountsSkipped: [...skipped].sort(),
      tasksChecked: tasks.length,
      heals,
    },
  };
}

function push<K, T>(m: Map<K, T[]>, k: K, t: T): void {
  const a = m.get(k);
  if (a) a.push(t);
  else m.set(k, [t]);
}

const signed = (x: bigint): string => (x > 0n ? `+${x}` : String(x));

function okHeight(rs: HistoryRecord[]): string {
  const h = rs.find((r) => r.outcome === 'ok')?.height;
  return h === undefined ? '' : ` at height ${h}`;
}

function duplicate(op: string, kind: string, outcome: string, at: CommittedTx[], where: string, nodes: string[]): Violation {
  return {
    kind: 'duplicate',
    ops: [op],
    heights: at.map((t) => t.height),
    txs: at.map((t) => t.hash),
    nodes,
    message: `${kind} ${op} (${outcome}) is in the blocks ${at.length} times: ${where}`,
  };
}

/**
 * One violation per run of consecutive forked heights with the same split of nodes (once two
 * nodes differ at a height they differ at every later one: reporting each height says nothing more).
 */
function checkForks(nodes: NodeFinal[], v: Violation[]): number {
  const at = new Map<number, Map<string, string[]>>();
  for (const n of nodes) {
    for (const b of n.blocks) {
      let m = at.get(b.height);
      if (!m) at.set(b.height, (m = new Map()));
      push(m, b.hash, n.node);
    }
  }
  let compared = 0;
  let open: { split: string; heights: number[]; nodes: string[]; hashes: string } | undefined;
  const close = (): void => {
    if (!open) return;
    const a = open.heights[0];
    const b = open.heights[open.heights.length - 1];
    v.push({
      kind: 'fork',
      heights: a === b ? [a] : [a, b],
      nodes: open.nodes,
      message: `fork at height ${a}${a === b ? '' : ` (through ${b})`}: ${open.hashes}`,
    });
    open = undefined;
  };
  for (const h of [...at.keys()].sort((x, y) => x - y)) {
    const m = at.get(h)!;
    if ([...m.values()].reduce((s, x) => s + x.length, 0) >= 2) compared++;
    if (m.size < 2) {
      close();
      continue;
    }
    const split = [...m.values()]
      .map((ns) => [...ns].sort().join(','))
      .sort()
      .join(' | ');
    if (open && open.split === split && open.heights.at(-1) === h - 1) {
      open.heights.push(h);
      continue;
    }
    close();
    const hashes = [...m.entries()].map(([hash, ns]) => `${hash.slice(0, 12)}… on ${ns.join(', ')}`).join('; ');
    open = { split, heights: [h], nodes: [...m.values()].flat().sort(), hashes };
  }
  close();
  return compared;
}

/**
 * After a heal at T, commits have resumed at the earliest of: the time of the first block timed
 * after T (the proposer's clock: a skewed proposer moves it by its skew, bounded by the nodes'
 * drift check), and the completion of an operation invoked after T that was acknowledged ok
 * (the client's clock: an upper bound). A heal whose bound runs past the end of the run is not judged.
 */
function checkLiveness(history: History, final: FinalState, o: CheckOptions, v: Violation[]): Verdict['counts']['heals'] {
  const bound = o.livenessBoundMs ?? 30_000;
  const out: Verdict['counts']['heals'] = { judged: 0, unjudged: 0, longestResumeMs: null, longestAfter: null };
  if (!o.heals?.length) return out;
  const times = new Map<number, number>();
  for (const n of final.nodes) for (const b of n.blocks ?? []) if (!times.has(b.height)) times.set(b.height, b.time);
  const blockTimes = [...times.values()].sort((a, b) => a - b);
  const okDone = history.records.filter((r) => r.outcome === 'ok').map((r) => [r.invokedAt, r.completedAt] as const);
  const end = Math.max(final.collectedAt, ...blockTimes.slice(-1));
  for (const h of [...o.heals].sort((a, b) => a.healedAt - b.healedAt)) {
    const t = h.healedAt;
    const firstBlock = blockTimes.find((x) => x > t);
    const firstOp = okDone.filter(([inv]) => inv >= t).reduce<number | undefined>((m, [, done]) => (m === undefined || done < m ? done : m), undefined);
    const resumed = [firstBlock, firstOp]
      .filter((x): x is number => x !== undefined)
      .reduce<number | undefined>((m, x) => (m === undefined || x < m ? x : m), undefined);
    if (resumed === undefined || resumed - t > bound) {
      if (resumed === undefined && end - t <= bound) {
        out.unjudged++;
        continue;
      }
      out.judged++;
      v.push({
        kind: 'liveness',
        message:
          resumed === undefined
            ? `no commit after ${h.fault} healed at ${new Date(t).toISOString()} (run ended ${Math.round((end - t) / 1000)} s later; bound ${bound / 1000} s)`
            : `commits resumed ${resumed - t} ms after ${h.fault} healed at ${new Date(t).toISOString()}, more than the bound of ${bound} ms`,
      });
      if (resumed !== undefined && (out.longestResumeMs === null || resumed - t > out.longestResumeMs))
        [out.longestResumeMs, out.longestAfter] = [resumed - t, h.fault];
      continue;
    }
    out.judged++;
    if (out.longestResumeMs === null || resumed - t > out.longestResumeMs) [out.longestResumeMs, out.longestAfter] = [resumed - t, h.fault];
  }
  return out;
}

/** Reads heals from a nemesis log: JSON lines (or one JSON array) whose entries with a numeric `healedAt` are heals. */
export function readHeals(file: string): Heal[] {
  const text = readFileSync(file, 'utf8').trim();
  if (!text) return [];
  const items: unknown[] = text.startsWith('[')
    ? (JSON.parse(text) as unknown[])
    : text.split('\n').flatMap((l) => (l.trim() ? [JSON.parse(l) as unknown] : []));
  const out: Heal[] = [];
  for (const x of items) {
    if (x && typeof x === 'object' && typeof (x as { healedAt?: unknown }).healedAt === 'number') {
      const e = x as { healedAt: number; fault?: unknown; kind?: unknown };
      out.push({ healedAt: e.healedAt, fault: String(e.fault ?? e.kind ?? 'fault') });
    }
  }
  return out;
}

export function readFinalState(file: string): FinalState {
  const s = JSON.parse(readFileSync(file, 'utf8')) as FinalState;
  if (s?.final !== true || !Array.isArray(s.nodes) || !Array.isArray(s.txs)) throw new Error(`${file}: not a final state (finalState.ts)`);
  return s;
}

/** The checker over files: the history, the final state and (optional) the nemesis log. */
export function checkFiles(historyFile: string, finalFile: string, nemesisLogFile?: string, o: Omit<CheckOptions, 'heals'> = {}): Verdict {
  return checkRun(readHistory(historyFile), readFinalState(finalFile), { ...o, heals: nemesisLogFile ? readHeals(nemesisLogFile) : undefined });
}

/** A summary a person reads: the verdict, the counts, and the violations (at most `max` per kind). */
export function formatVerdict(verdict: Verdict, max = 10): string {
  const c = verdict.counts;
  const line = (k: string, x: OutcomeCounts): string =>
    `  ${k.padEnd(14)} ok ${x.ok}, fail ${x.fail}, unknown ${x.unknown} (committed ${x.unknownCommitted}, absent ${x.unknownAbsent})`;
  const out = [
    verdict.valid ? 'VALID: no violation' : `INVALID: ${verdict.violations.length} violation(s)`,
    `operations (${c.records} records):`,
    ...Object.entries(c.ops)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, x]) => line(k, x)),
    line('all', c.all),
    `nodes ${c.nodes}, heights compared ${c.heightsCompared}, highest ${c.maxHeight}, transactions in blocks ${c.committedTxs}`,
    `balances checked ${c.balancesChecked}${c.accountsSkipped.length ? `, accounts skipped (sent non-transfers) ${c.accountsSkipped.length}` : ''}, tasks checked ${c.tasksChecked}`,
    `heals judged ${c.heals.judged}, not judged ${c.heals.unjudged}${c.heals.longestResumeMs !== null ? `, longest resume ${c.heals.longestResumeMs} ms (after ${c.heals.longestAfter})` : ''}`,
  ];
  const byKind = new Map<string, Violation[]>();
  for (const x of verdict.violations) push(byKind, x.kind, x);
  for (const [k, xs] of byKind) {
    out.push(`${k}: ${xs.length}`);
    for (const x of xs.slice(0, max)) out.push(`  - ${x.message}`);
    if (xs.length > max) out.push(`  … and ${xs.length - max} more`);
  }
  return out.join('\n');
}

// Run as a command: `node_modules/.bin/node test/faults/checker.ts HISTORY FINAL [NEMESIS_LOG]
// [--bound-ms N] [--json]` prints the summary (or the verdict as JSON) and exits 1 on any violation.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const bound = flag('--bound-ms');
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (files.length < 2 || files.length > 3) {
    console.error('usage: checker.ts HISTORY.jsonl FINAL.json [NEMESIS_LOG] [--bound-ms N] [--json]');
    process.exit(2);
  }
  const verdict = checkFiles(files[0], files[1], files[2], bound ? { livenessBoundMs: Number(bound) } : {});
  console.log(json ? JSON.stringify(verdict, null, 2) : formatVerdict(verdict));
  process.exit(verdict.valid ? 0 : 1);
}
