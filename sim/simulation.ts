import { toHex, verifySignature, type KeyPair } from '../src/crypto/index.ts';
import {
  CATCH_UP_TIMING,
  DEVNET_TIMEOUTS,
  hostTickMs,
  SYNC_FETCH_TIMEOUT_MS,
  timeoutDelay,
  type CatchUpTiming,
  type ConsensusConfig,
} from '../src/consensus/index.ts';
import { quorum } from '../src/ledger/commit.ts';
import {
  blockHash,
  buildDevGenesis,
  certificateError,
  checkSupply,
  DEV_GENESIS_KEYS,
  voteSigningBytes,
  type Block,
  type Certificate,
  type Genesis,
  type SignedVote,
} from '../src/ledger/index.ts';
import { testKey } from '../src/ledger/testing.ts';
import { SimDisk } from './disk.ts';
import { SimNode, type Behavior, type SimMessage, type World } from './simNode.ts';
import { EventQueue, Rng } from './prng.ts';

// A deterministic simulation of a ZeusNet bookkeeper network in one process (after TigerBeetle's
// VOPR and FoundationDB's simulation testing). A seed fixes everything: the fault plan (message
// delays, drops, duplicates and reordering, partitions, crashes with restarts from a disk that
// loses unsynced writes, up to f byzantine bookkeepers) and every random choice while it runs.
// Safety is checked after every step; liveness once the faults heal.
//
// A scenario replaces the random faults by a fixed schedule whose timings the seed draws:
// 'restart-pause' is issue 12's item 2 (under a transaction load, two bookkeepers restarted one
// after the other, then a third paused as with SIGSTOP), run with the devnet's timeouts, and
// checks that a quorum of live bookkeepers never goes longer than a bound without committing.

export interface SimOptions {
  readonly seed: number;
  /** Bookkeepers (default: 4, or 7 for one seed in four). */
  readonly nodes?: number;
  /** Height every honest node must reach (default 6). */
  readonly heights?: number;
  /** Run honest nodes with a deliberately broken core (ignores locks): the checks must catch it. */
  readonly brokenCore?: boolean;
  /** Print what happens. */
  readonly verbose?: boolean;
  /** A fixed schedule instead of random faults (see above). */
  readonly scenario?: Scenario;
  /** Transactions per second offered to the network (default: 180 in a scenario, none otherwise). */
  readonly load?: number;
}

export const SCENARIOS = ['restart-pause'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Plan {
  readonly n: number;
  readonly f: number;
  readonly heights: number;
  /** When faults stop (ms after genesis); earlier if a node gets within two heights of the target. */
  readonly healAt: number;
  readonly byzantine: ReadonlyMap<number, Behavior>;
  readonly drop: number;
  /** Extra loss on flaky directed links, drop[from][to] (asymmetric: one way may work, the other not). */
  readonly linkDrop: readonly (readonly number[])[];
  readonly duplicate: number;
  readonly maxDelay: number;
  readonly partitions: readonly {
    readonly from: number;
    readonly to: number;
    readonly kind: 'halves' | 'isolate' | 'ring';
    readonly groups: readonly number[];
  }[];
  readonly crashes: readonly { readonly node: number; readonly at: number; readonly downFor: number }[];
  /** Nodes stopped without losing anything (SIGSTOP): they neither handle nor send until resumed. */
  readonly pauses: readonly { readonly node: number; readonly at: number; readonly for: number }[];
  /** Transactions per second; a block carries what arrived since the proposer's last commit. */
  readonly load: number;
  /** 'sim': the simulator's short timeouts; 'devnet': the devnet node's timeouts, tick and block interval. */
  readonly timing: 'sim' | 'devnet';
  readonly scenario?: Scenario;
  /** When set, checked whenever the network has no faults (see liveBounds). */
  readonly bounds?: LiveBounds;
}

/**
 * What a healthy network owes its running honest nodes, with some of them paused or restarting:
 * - `stallMs`: a quorum of running nodes that hold every block commits the next height within
 *   this (two rounds: one may have a proposer that is paused, down or catching up);
 * - `catchUpMs`: when fewer than a quorum hold every block, a running node that has fewer blocks
 *   than another running node gets them within this (it asks a peer at once after a start, when
 *   it sees it is behind, and another peer if one does not answer).
 */
export interface LiveBounds {
  readonly catchUpMs: number;
  readonly stallMs: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: { readonly kind: 'safety' | 'liveness'; readonly reason: string };
  readonly plan: Plan;
  readonly trace: string;
  readonly events: number;
  readonly simMs: number;
  readonly stats: {
    readonly heights: number[];
    readonly messages: number;
    readonly dropped: number;
    readonly crashes: number;
    readonly evidence: number;
    readonly guardRefusals: number;
    readonly rejectedSyncs: number;
    readonly maxRound: number;
    /** Highest round of a decision at a height that started after the faults healed. */
    readonly maxFreshRound: number;
    readonly healedAt: number;
    readonly healToDoneMs: number;
    /** The liveness bound: how long after healing every honest node had to reach the target. */
    readonly budgetMs: number;
    /** The longest time a quorum of running honest nodes that held every block went without committing a height. */
    readonly maxStallMs: number;
    /** The longest time a running honest node, needed for a quorum, had fewer blocks than another running one. */
    readonly maxBehindMs: number;
    /** From the start of each pause to the next height the others committed (ms), in plan order. */
    readonly pauseToCommitMs: number[];
    /** At the start of each pause, how many heights the furthest behind of the others lacked. */
    readonly behindAtPause: number[];
    /** Simulated transactions committed (on the highest node). */
    readonly txs: number;
  };
}

class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

const GENESIS_TIME = 1_700_000_000_000;
const HEALED_MAX_DELAY = 20;
/** A transfer's bytes in a proposal, and what a loopback link carries per ms on a loaded machine. */
const TX_BYTES = 250;
const LINK_BYTES_PER_MS = 10_000;
/**
 * Main-thread time per transaction to execute a block: the ledger alone does ~7,000/s on one
 * core (bench/results/ledger.json); four nodes and a load generator share two cores.
 */
const EXEC_MS_PER_TX = 0.5;
const MAX_BLOCK_TXS = 10_000;
const PAUSE_MS = 15_000;
const MAX_EVENTS = 3_000_000;
const WALLETS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

export const SIM_TIMEOUTS: ConsensusConfig['timeouts'] = {
  propose: { baseMs: 300, deltaMs: 150 },
  prevote: { baseMs: 150, deltaMs: 75 },
  precommit: { baseMs: 150, deltaMs: 75 },
};

/** Timeouts, host tick, block interval and fetch timeout of a plan's timing. */
function timing(t: Plan['timing']): {
  timeouts: ConsensusConfig['timeouts'];
  tickMs: number;
  commitDelayMs: number;
  fetchTimeoutMs: number;
  catchUp: CatchUpTiming;
} {
  // The devnet's block interval is 500 ms (`zeus devnet start`); the node ticks by hostTickMs.
  if (t === 'devnet')
    return { timeouts: DEVNET_TIMEOUTS, tickMs: hostTickMs(500), commitDelayMs: 500, fetchTimeoutMs: SYNC_FETCH_TIMEOUT_MS, catchUp: CATCH_UP_TIMING };
  // Everything five times shorter than on a devnet, as SIM_TIMEOUTS are.
  const c = CATCH_UP_TIMING;
  return {
    timeouts: SIM_TIMEOUTS,
    tickMs: 200,
    commitDelayMs: 500,
    fetchTimeoutMs: SYNC_FETCH_TIMEOUT_MS / 5,
    catchUp: { patienceMs: c.patienceMs / 5, silentMs: c.silentMs / 5, backoffMs: c.backoffMs / 5 },
  };
}

/**
 * The bounds of a timing: to catch up, a tick to notice, the patience for one peer, a tick to
 * ask another, and a second to fetch and execute; without a commit, two rounds (one may have a
 * proposer that is paused, down or catching up), the block interval and two ticks.
 */
export function liveBounds(t: Plan['timing']): LiveBounds {
  const { timeouts, tickMs, commitDelayMs, catchUp } = timing(t);
  const config: ConsensusConfig = { chainId: '', timeouts };
  let stallMs = commitDelayMs + 2 * tickMs;
  for (const r of [0, 1]) stallMs += timeoutDelay(config, 'propose', r) + timeoutDelay(config, 'prevote', r) + timeoutDelay(config, 'precommit', r);
  return { catchUpMs: 2 * tickMs + catchUp.patienceMs + 1_000, stallMs };
}

const genesisCache = new Map<number, { genesis: Genesis; keys: KeyPair[]; wallets: KeyPair[] }>();

function genesisFor(n: number): { genesis: Genesis; keys: KeyPair[]; wallets: KeyPair[] } {
  let g = genesisCache.get(n);
  if (!g) {
    const names = [...DEV_GENESIS_KEYS, ...WALLETS];
    const keys = Array.from({ length: n }, (_, i) => testKey(`bookkeeper-${i}`));
    const genesis = buildDevGenesis({
      genesisTime: GENESIS_TIME,
      keys: Object.fromEntries(names.map((name) => [name, testKey(name).publicKey])),
      devAccounts: WALLETS,
      bookkeepers: keys.map((k, i) => ({ name: `bookkeeper-${i}`, publicKey: k.publicKey })),
    });
    g = { genesis, keys, wallets: WALLETS.map(testKey) };
    genesisCache.set(n, g);
  }
  return g;
}

export function makePlan(seed: number, o: Omit<SimOptions, 'seed'> = {}): Plan {
  if (o.scenario === 'restart-pause') return restartPausePlan(seed, o);
  const rng = new Rng(seed ^ 0x5eed);
  const n = o.nodes ?? (seed % 4 === 3 ? 7 : 4);
  const f = Math.floor((n - 1) / 3);
  const heights = o.heights ?? 6;
  const calm = rng.chance(0.15);
  const healAt = calm ? 0 : rng.int(500, 15_000);
  const byzantine = new Map<number, Behavior>();
  const byzCount = rng.int(0, f);
  for (const i of rng.shuffle([...Array(n).keys()]).slice(0, byzCount)) byzantine.set(i, rng.pick(['silent', 'equivocate', 'amnesia'] as const));
  const honest = [...Array(n).keys()].filter((i) => !byzantine.has(i));
  const partitions: Plan['partitions'][number][] = [];
  const crashes: Plan['crashes'][number][] = [];
  if (!calm) {
    for (let k = rng.int(0, 2); k > 0; k--) {
      const from = rng.int(0, healAt);
      const kind = rng.pick(['halves', 'isolate', 'ring'] as const);
      const order = rng.shuffle([...Array(n).keys()]);
      const groups = new Array<number>(n).fill(0);
      if (kind === 'halves') order.slice(0, Math.floor(n / 2)).forEach((i) => (groups[i] = 1));
      if (kind === 'isolate') groups[order[0]] = 1;
      partitions.push({ from, to: from + rng.int(100, 3_000), kind, groups });
    }
    for (let k = rng.int(0, 2); k > 0; k--) crashes.push({ node: rng.pick(honest), at: rng.int(0, healAt), downFor: rng.int(50, 3_000) });
  }
  const flaky = !calm && rng.chance(0.4);
  const linkDrop = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (flaky && i !== j && rng.chance(0.3) ? rng.pick([0.5, 0.8, 0.95]) : 0)),
  );
  return {
    n,
    f,
    heights,
    healAt,
    byzantine,
    linkDrop,
    drop: calm ? 0 : rng.pick([0, 0.01, 0.05, 0.15, 0.3]),
    duplicate: calm ? 0 : rng.pick([0, 0.05, 0.3]),
    maxDelay: calm ? HEALED_MAX_DELAY : rng.pick([10, 50, 200, 1_000]),
    partitions,
    crashes,
    pauses: [],
    load: o.load ?? 0,
    timing: 'sim',
  };
}

/**
 * Issue 12, item 2: four bookkeepers under load; one is restarted (killed, down while its
 * process starts again), then another, then a third is paused for 15 s. The seed draws which
 * nodes and when (warm-up 4–8 s, each down 2–8 s, 0–4 s between the restarts, 0–3 s before the
 * pause, so the last restarted node may still be catching up when the pause begins).
 */
function restartPausePlan(seed: number, o: Omit<SimOptions, 'seed'>): Plan {
  const rng = new Rng(seed ^ 0x12b2);
  const n = 4;
  const [a, b, p] = rng.shuffle([0, 1, 2, 3]);
  const t1 = rng.int(4_000, 8_000);
  const down1 = rng.int(2_000, 8_000);
  const t2 = t1 + down1 + rng.int(0, 4_000);
  const down2 = rng.int(2_000, 8_000);
  const tp = t2 + down2 + rng.int(0, 3_000);
  return {
    n,
    f: 1,
    heights: o.heights ?? 0, // set at the heal: three heights past the highest
    healAt: tp + PAUSE_MS,
    byzantine: new Map(),
    linkDrop: Array.from({ length: n }, () => new Array<number>(n).fill(0)),
    drop: 0,
    duplicate: 0,
    maxDelay: 5, // loopback
    partitions: [],
    crashes: [
      { node: a, at: t1, downFor: down1 },
      { node: b, at: t2, downFor: down2 },
    ],
    pauses: [{ node: p, at: tp, for: PAUSE_MS }],
    load: o.load ?? 180,
    timing: 'devnet',
    scenario: 'restart-pause',
    bounds: liveBounds('devnet'),
  };
}

export function describePlan(p: Plan): string {
  const byz = [...p.byzantine].map(([i, b]) => `${i}:${b}`).join(',') || 'none';
  const flaky = p.linkDrop.flatMap((row, i) => row.map((d, j) => (d > 0 ? `${i}>${j}:${d}` : ''))).filter(Boolean);
  return (
    `${p.scenario ? `scenario ${p.scenario} (${p.timing} timing): ` : ''}n=${p.n} f=${p.f} target=${p.heights || 'top+3'} heal@${p.healAt}ms byzantine=${byz} drop=${p.drop} flaky=[${flaky.join(' ')}] dup=${p.duplicate} delay≤${p.maxDelay}ms ` +
    `partitions=[${p.partitions.map((x) => `${x.kind}@${x.from}-${x.to}`).join(' ')}] crashes=[${p.crashes.map((c) => `${c.node}@${c.at}+${c.downFor}`).join(' ')}]` +
    ` pauses=[${p.pauses.map((x) => `${x.node}@${x.at}+${x.for}`).join(' ')}] load=${p.load}tx/s${p.bounds ? ` catch-up≤${p.bounds.catchUpMs}ms stall≤${p.bounds.stallMs}ms` : ''}`
  );
}

type Event =
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly epoch: number; readonly msg: SimMessage }
  | { readonly kind: 'timer'; readonly node: number; readonly epoch: number; readonly label: string; readonly fire: () => void; cancelled: boolean }
  | { readonly kind: 'crash'; readonly node: number; readonly downFor: number }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'pause'; readonly node: number; readonly for: number }
  | { readonly kind: 'resume'; readonly node: number }
  | { readonly kind: 'heal' };

/** FNV-1a over the event stream: two runs of one seed must produce the same trace. */
class Trace {
  private a = 0x811c9dc5;
  private b = 0x01000193;
  add(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.a = Math.imul(this.a ^ c, 0x01000193) >>> 0;
      this.b = Math.imul(this.b ^ c, 0x0100019d) >>> 0;
    }
  }
  toString(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}

function msgSummary(m: SimMessage): string {
  switch (m.kind) {
    case 'proposal':
      return `P${m.sp.proposal.height}/${m.sp.proposal.round}/${toHex(m.sp.proposal.blockHash).slice(0, 6)}`;
    case 'vote':
      return `V${m.vote.vote.type}/${m.vote.vote.height}/${m.vote.vote.round}/${toHex(m.vote.vote.blockHash).slice(0, 6)}`;
    case 'getBlocks':
      return `G${m.id}/${m.from}`;
    case 'blocks':
      return `B${m.id}/${m.items.length}`;
  }
}

export async function runSeed(o: SimOptions): Promise<SimResult> {
  const plan = makePlan(o.seed, o);
  const { genesis, keys, wallets } = genesisFor(plan.n);
  const root = new Rng(o.seed);
  const netRng = root.fork();
  const diskRng = root.fork();
  const queue = new EventQueue<Event>();
  const trace = new Trace();
  const t = timing(plan.timing);
  const config: ConsensusConfig = { chainId: genesis.chainId, timeouts: t.timeouts, ...(o.brokenCore ? { faults: { ignoreLocks: true } } : {}) };
  const committedAt = new Map<number, { hash: string; node: number }>();
  const rootsAt = new Map<number, string>();
  const verified = new Map<string, boolean>();
  /** Simulated transactions per block (by hash): what it costs to send and execute. */
  const loads = new Map<string, number>();
  let now = GENESIS_TIME;
  let healed = false;
  let healedAt = -1;
  let deadline = Infinity;
  let target = plan.heights;
  let messages = 0;
  let dropped = 0;
  let crashes = 0;
  let evidence = 0;
  let maxRound = 0;
  /** Heights above this started after the heal: they must decide within a few rounds. */
  let freshAbove = Infinity;
  let maxFreshRound = 0;
  /** Message ids each node's p2p layer has handed over (a new process starts with an empty cache). */
  const seenBy = Array.from({ length: plan.n }, () => new Set<string>());
  /** CPU: a node handles one event at a time; what arrives while it is busy waits. */
  const busyUntil = new Array<number>(plan.n).fill(0);
  /** Paused nodes and what arrived for them meanwhile (delivered in order when they resume). */
  const backlog = new Map<number, Event[]>();
  const pauseStarts: { at: number; top: number; behind: number; committedAt?: number }[] = [];

  // Most messages are fast; a long tail up to the plan's maximum reorders them.
  const delay = (): number => (healed ? netRng.int(1, HEALED_MAX_DELAY) : 1 + Math.floor(plan.maxDelay * netRng.float() ** 3));
  const bytesOf = (m: SimMessage): number => {
    if (m.kind === 'proposal') return (loads.get(toHex(m.sp.proposal.blockHash)) ?? 0) * TX_BYTES;
    if (m.kind === 'blocks') return m.items.reduce((a, b) => a + b.length, 0);
    return 0;
  };

  const world: World = {
    get now() {
      return now;
    },
    genesis,
    n: plan.n,
    tickMs: t.tickMs,
    commitDelayMs: t.commitDelayMs,
    fetchTimeoutMs: t.fetchTimeoutMs,
    catchUpTiming: t.catchUp,
    wallets,
    send(from, to, msg) {
      messages++;
      const elapsed = now - GENESIS_TIME;
      if (!healed) {
        if (plan.partitions.some((p) => elapsed >= p.from && elapsed < p.to && !canTalk(p, from, to))) {
          dropped++;
          return;
        }
        if (netRng.chance(plan.drop) || netRng.chance(plan.linkDrop[from][to])) {
          dropped++;
          return;
        }
      }
      const epoch = nodes[to].epoch;
      // Sent once the sender's work so far in this event is done, and after the bytes went out.
      const sentAt = now + nodes[from].cpuMs + Math.ceil(bytesOf(msg) / LINK_BYTES_PER_MS);
      queue.push(sentAt + delay(), { kind: 'deliver', from, to, epoch, msg });
      if (!healed && netRng.chance(plan.duplicate)) queue.push(sentAt + delay(), { kind: 'deliver', from, to, epoch, msg });
    },
    connected(node) {
      return nodes.filter((n) => n.index !== node && n.up).map((n) => n.index);
    },
    setTimer(node, epoch, delayMs, label, fire) {
      const timer = { kind: 'timer' as const, node, epoch, label, fire, cancelled: false };
      queue.push(now + nodes[node].cpuMs + delayMs, timer);
      return () => {
        timer.cancelled = true;
      };
    },
    takeLoad(node: SimNode) {
      const arrived = Math.floor((plan.load * (now - GENESIS_TIME)) / 1000);
      return Math.max(0, Math.min(MAX_BLOCK_TXS, arrived - node.committedTxs));
    },
    loaded(hash, txs) {
      if (txs > 0) loads.set(hash, txs);
    },
    loadOf(hash) {
      return loads.get(hash) ?? 0;
    },
    execMs(txs) {
      return Math.ceil(txs * EXEC_MS_PER_TX);
    },
    beforeCommit(node: SimNode, block: Block, certificate: Certificate) {
      const height = Number(block.header.height);
      const hash = toHex(blockHash(block.header));
      if (height !== node.ledger.height + 1) throw new SafetyViolation(`node ${node.index} committed height ${height} on ${node.ledger.height}`);
      const why = certificateError(genesis.chainId, certificate, node.ledger.bookkeepersAt(height), blockHash(block.header));
      if (why) throw new SafetyViolation(`node ${node.index} committed block ${height} without a valid certificate: ${why}`);
      const agreed = committedAt.get(height);
      if (agreed && agreed.hash !== hash) {
        throw new SafetyViolation(
          `agreement: node ${node.index} committed ${hash.slice(0, 12)} at height ${height}, node ${agreed.node} committed ${agreed.hash.slice(0, 12)}`,
        );
      }
      if (!agreed) committedAt.set(height, { hash, node: node.index });
      maxRound = Math.max(maxRound, certificate.round);
      if (height > freshAbove) maxFreshRound = Math.max(maxFreshRound, certificate.round);
      trace.add(`C${node.index}/${height}/${hash.slice(0, 8)}`);
    },
    afterCommit(node: SimNode) {
      const height = node.ledger.height;
      const roots = node.ledger.stateRoots().map(toHex).join('');
      const known = rootsAt.get(height);
      if (known !== undefined && known !== roots) throw new SafetyViolation(`node ${node.index} has different state roots at height ${height}`);
      rootsAt.set(height, roots);
      try {
        checkSupply(node.ledger);
      } catch (e) {
        throw new SafetyViolation(`node ${node.index}: supply not conserved: ${(e as Error).message}`);
      }
    },
    onEvidence(node: SimNode, first: SignedVote) {
      const offender = keys.findIndex((k) => toHex(k.publicKey) === toHex(first.vote.validator));
      if (!plan.byzantine.has(offender)) {
        throw new SafetyViolation(
          `node ${node.index} holds evidence that honest node ${offender} signed two votes at ${first.vote.height}/${first.vote.round}/${first.vote.type}`,
        );
      }
      evidence++;
    },
    verifyVote(v: SignedVote) {
      const bytes = voteSigningBytes(v.vote);
      const id = toHex(v.signature) + toHex(bytes);
      const known = verified.get(id);
      if (known !== undefined) return known;
      const ok = verifySignature(v.vote.validator, bytes, v.signature);
      verified.set(id, ok);
      return ok;
    },
    indexOf(publicKey: Uint8Array) {
      const hex = toHex(publicKey);
      return keys.findIndex((k) => toHex(k.publicKey) === hex);
    },
    log(node, what) {
      if (o.verbose) console.log(`${String(now - GENESIS_TIME).padStart(7)}ms node ${node}: ${what}`);
    },
  };

  const nodes = keys.map((k, i) => new SimNode(i, k, plan.byzantine.get(i) ?? 'honest', new SimDisk(), config, world, root.fork()));
  const honest = nodes.filter((n) => n.honest);
  /** The CPU a node used while handling an event keeps it busy afterwards. */
  const charge = (n: SimNode): void => {
    busyUntil[n.index] = Math.max(busyUntil[n.index], now) + n.cpuMs;
    n.cpuMs = 0;
  };

  for (const c of plan.crashes) queue.push(GENESIS_TIME + c.at, { kind: 'crash', node: c.node, downFor: c.downFor });
  for (const p of plan.pauses) queue.push(GENESIS_TIME + p.at, { kind: 'pause', node: p.node, for: p.for });
  queue.push(GENESIS_TIME + plan.healAt, { kind: 'heal' });
  for (const n of nodes) {
    await n.boot();
    charge(n);
  }

  const roundMs = (r: number): number =>
    timeoutDelay(config, 'propose', r) + timeoutDelay(config, 'prevote', r) + timeoutDelay(config, 'precommit', r) + 6 * HEALED_MAX_DELAY + t.tickMs;
  const heightBudget = (r0: number): number => {
    let ms = 0;
    for (let r = r0; r <= r0 + plan.f + 2; r++) ms += roundMs(r);
    return ms + t.commitDelayMs;
  };

  const heal = async (): Promise<void> => {
    healed = true;
    healedAt = now;
    for (const n of honest) {
      if (!n.up) {
        await n.boot();
        charge(n);
      }
    }
    for (const i of [...backlog.keys()]) resume(i);
    const topRound = Math.max(...honest.map((n) => n.state.round));
    const lowest = Math.min(...honest.map((n) => n.ledger.height));
    freshAbove = Math.max(...nodes.map((n) => n.ledger.height)) + 1;
    if (target === 0) target = freshAbove + 2;
    // Commits must resume: the stuck height within f+3 rounds from the highest round anyone is
    // in, and each further height within f+3 rounds, plus time to sync blocks.
    deadline = now + 10 * t.tickMs + heightBudget(topRound) + (target - lowest) * heightBudget(0);
    world.log(-1, `healed: heights ${nodes.map((n) => n.ledger.height).join(',')}, top round ${topRound}, deadline in ${deadline - now}ms`);
    trace.add(`H${now}`);
  };

  function resume(i: number): void {
    const held = backlog.get(i) ?? [];
    backlog.delete(i);
    world.log(i, `resume (${held.length} events held)`);
    trace.add(`U${now}/${i}`);
    for (const e of held) queue.push(now, e);
  }

  // Liveness while faults go on (plans with bounds; see LiveBounds).
  const q = quorum(plan.n);
  const behindSince = new Array<number>(plan.n).fill(-1);
  let maxBehindMs = 0;
  let syncedTop = -1;
  let syncedSince = -1;
  let maxStallMs = 0;
  /** The first bound crossed (the run goes on, to measure how long it lasts). */
  let boundCrossed: string | undefined;
  const checkLive = (): void => {
    for (const p of pauseStarts) if (p.committedAt === undefined && Math.max(...nodes.map((n) => n.ledger.height)) > p.top) p.committedAt = now;
    const running = honest.filter((n) => n.up && !backlog.has(n.index));
    const faulty = !healed && (plan.drop > 0 || plan.partitions.length > 0 || plan.linkDrop.some((r) => r.some((d) => d > 0)));
    if (faulty || running.length === 0) {
      behindSince.fill(-1);
      syncedSince = -1;
      return;
    }
    const top = Math.max(...running.map((n) => n.ledger.height));
    const where = (): string =>
      `heights ${nodes.map((n) => `${n.index}:${n.ledger.height}${backlog.has(n.index) ? ' paused' : n.up ? '' : ' down'}`).join(' ')}`;
    const synced = running.filter((n) => n.ledger.height === top);
    // Fewer than a quorum hold every block: the others must catch up before anyone can commit.
    for (const n of honest) {
      const needed = synced.length < q && running.includes(n) && n.ledger.height < top;
      if (!needed) behindSince[n.index] = -1;
      else if (behindSince[n.index] < 0) behindSince[n.index] = now;
      else {
        maxBehindMs = Math.max(maxBehindMs, now - behindSince[n.index]);
        if (plan.bounds && !boundCrossed && now - behindSince[n.index] > plan.bounds.catchUpMs) {
          boundCrossed =
            `at ${now - GENESIS_TIME} ms node ${n.index}, needed for a quorum, had been behind another running node for ${plan.bounds.catchUpMs} ms ` +
            `(the catch-up bound); ${where()}`;
        }
      }
    }
    if (synced.length < q) {
      syncedSince = -1;
      return;
    }
    if (syncedSince < 0 || top > syncedTop) {
      syncedSince = now;
      syncedTop = top;
      return;
    }
    maxStallMs = Math.max(maxStallMs, now - syncedSince);
    if (plan.bounds && !boundCrossed && now - syncedSince > plan.bounds.stallMs) {
      boundCrossed =
        `at ${now - GENESIS_TIME} ms nodes ${synced.map((n) => n.index).join(',')} (a quorum, running, holding every block) had committed nothing for ` +
        `${plan.bounds.stallMs} ms (the stall bound); rounds ${synced.map((n) => `${n.index}:h${n.state.height}r${n.state.round}`).join(' ')}; ${where()}`;
    }
  };

  let events = 0;
  let failure: SimResult['failure'];
  try {
    for (;;) {
      if (healed && honest.every((n) => n.ledger.height >= target)) break;
      if (!healed && target > 0 && Math.max(...honest.map((n) => n.ledger.height)) >= target - 2) await heal();
      const ev = queue.pop();
      if (!ev) throw new Error('simulation ran out of events');
      now = ev.at;
      checkLive();
      if (now > deadline || ++events > MAX_EVENTS) {
        const behind = honest.filter((n) => n.ledger.height < target).map((n) => `node ${n.index} at height ${n.ledger.height} round ${n.state.round}`);
        failure = {
          kind: 'liveness',
          reason: `${behind.join(', ')} (target ${target}) ${now - healedAt}ms after the faults healed (budget ${deadline - healedAt}ms${events > MAX_EVENTS ? ', event budget spent' : ''})`,
        };
        break;
      }
      const e = ev.item;
      switch (e.kind) {
        case 'deliver':
        case 'timer': {
          const i = e.kind === 'deliver' ? e.to : e.node;
          const n = nodes[i];
          if (!n.up || n.epoch !== e.epoch) break;
          const held = backlog.get(i);
          if (held) {
            held.push(e);
            break;
          }
          if (now < busyUntil[i]) {
            queue.push(busyUntil[i], e);
            break;
          }
          if (e.kind === 'deliver') {
            // The p2p layer's seen-cache: a proposal or vote is handed to the node once; sent
            // again (a re-gossip while stuck) it is dropped as a duplicate.
            const id = e.msg.kind === 'proposal' ? `P${toHex(e.msg.sp.signature)}` : e.msg.kind === 'vote' ? `V${toHex(e.msg.vote.signature)}` : undefined;
            if (id !== undefined) {
              if (seenBy[i].has(id)) break;
              seenBy[i].add(id);
            }
            trace.add(`D${now}/${e.from}>${e.to}/${msgSummary(e.msg)}`);
            if ((await n.receive(e.from, e.msg)) === 'later' && id !== undefined) seenBy[i].delete(id);
          } else {
            if (e.cancelled) break;
            trace.add(`T${now}/${e.node}/${e.label}`);
            await n.onTimer(e.fire);
          }
          charge(n);
          break;
        }
        case 'crash': {
          const n = nodes[e.node];
          if (healed || !n.up) break;
          const lost = n.disk.crash(diskRng);
          n.crash();
          seenBy[e.node].clear();
          backlog.delete(e.node);
          for (const other of nodes) if (other.up) other.peerDown(e.node);
          crashes++;
          world.log(e.node, `crash (kept ${lost.kept}, lost ${lost.lost} unsynced writes)`);
          trace.add(`X${now}/${e.node}/${lost.kept}`);
          queue.push(Math.min(now + e.downFor, GENESIS_TIME + plan.healAt), { kind: 'restart', node: e.node });
          break;
        }
        case 'restart': {
          const n = nodes[e.node];
          if (n.up) break;
          world.log(e.node, 'restart');
          trace.add(`R${now}/${e.node}`);
          busyUntil[e.node] = now;
          await n.boot();
          charge(n);
          break;
        }
        case 'pause': {
          const n = nodes[e.node];
          if (healed || !n.up || backlog.has(e.node)) break;
          backlog.set(e.node, []);
          const top = Math.max(...nodes.map((x) => x.ledger.height));
          pauseStarts.push({ at: now, top, behind: top - Math.min(...nodes.filter((x) => x.up && x !== n).map((x) => x.ledger.height)) });
          world.log(e.node, `pause for ${e.for} ms at heights ${nodes.map((x) => x.ledger.height).join(',')}`);
          trace.add(`P${now}/${e.node}`);
          queue.push(Math.min(now + e.for, GENESIS_TIME + plan.healAt), { kind: 'resume', node: e.node });
          break;
        }
        case 'resume':
          if (backlog.has(e.node)) resume(e.node);
          break;
        case 'heal':
          if (!healed) await heal();
          break;
      }
    }
  } catch (e) {
    if (!(e instanceof SafetyViolation)) throw e;
    failure = { kind: 'safety', reason: e.message };
  }
  if (!failure && boundCrossed) {
    failure = { kind: 'liveness', reason: `${boundCrossed} (longest: behind ${maxBehindMs} ms, without a commit ${maxStallMs} ms)` };
  }
  return {
    seed: o.seed,
    ok: failure === undefined,
    failure,
    plan,
    trace: trace.toString(),
    events,
    simMs: now - GENESIS_TIME,
    stats: {
      heights: nodes.map((n) => n.ledger.height),
      messages,
      dropped,
      crashes,
      evidence,
      guardRefusals: nodes.reduce((s, n) => s + n.guardRefusals, 0),
      rejectedSyncs: nodes.reduce((s, n) => s + n.rejectedSyncs, 0),
      maxRound,
      maxFreshRound,
      healedAt: healedAt - GENESIS_TIME,
      healToDoneMs: now - healedAt,
      budgetMs: deadline - healedAt,
      maxStallMs,
      maxBehindMs,
      pauseToCommitMs: pauseStarts.map((p) => (p.committedAt === undefined ? -1 : p.committedAt - p.at)),
      behindAtPause: pauseStarts.map((p) => p.behind),
      txs: Math.max(...nodes.map((n) => n.committedTxs)),
    },
  };
}

function canTalk(p: Plan['partitions'][number], a: number, b: number): boolean {
  if (p.kind === 'ring') {
    const n = p.groups.length;
    const d = (a - b + n) % n;
    return d === 1 || d === n - 1;
  }
  return p.groups[a] === p.groups[b];
}
