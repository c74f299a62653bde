import { toHex, verifySignature, type KeyPair } from '../src/crypto/index.ts';
import { timeoutDelay, type ConsensusConfig } from '../src/consensus/index.ts';
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
import { SimNode, type Behavior, type SimMessage, type TimerInput, type World } from './node.ts';
import { EventQueue, Rng } from './prng.ts';

// A deterministic simulation of a ZeusNet bookkeeper network in one process (after TigerBeetle's
// VOPR and FoundationDB's simulation testing). A seed fixes everything: the fault plan (message
// delays, drops, duplicates and reordering, partitions, crashes with restarts from a disk that
// loses unsynced writes, up to f byzantine bookkeepers) and every random choice while it runs.
// Safety is checked after every step; liveness once the faults heal.

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
}

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
  readonly partitions: readonly { readonly from: number; readonly to: number; readonly kind: 'halves' | 'isolate' | 'ring'; readonly groups: readonly number[] }[];
  readonly crashes: readonly { readonly node: number; readonly at: number; readonly downFor: number }[];
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
  };
}

class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

const GENESIS_TIME = 1_700_000_000_000;
const TICK_MS = 200;
const COMMIT_DELAY_MS = 500;
const HEALED_MAX_DELAY = 20;
const MAX_EVENTS = 3_000_000;
const WALLETS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

export const SIM_TIMEOUTS: ConsensusConfig['timeouts'] = {
  propose: { baseMs: 300, deltaMs: 150 },
  prevote: { baseMs: 150, deltaMs: 75 },
  precommit: { baseMs: 150, deltaMs: 75 },
};

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
  const linkDrop = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (flaky && i !== j && rng.chance(0.3) ? rng.pick([0.5, 0.8, 0.95]) : 0)));
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
  };
}

export function describePlan(p: Plan): string {
  const byz = [...p.byzantine].map(([i, b]) => `${i}:${b}`).join(',') || 'none';
  const flaky = p.linkDrop.flatMap((row, i) => row.map((d, j) => (d > 0 ? `${i}>${j}:${d}` : ''))).filter(Boolean);
  return (
    `n=${p.n} f=${p.f} target=${p.heights} heal@${p.healAt}ms byzantine=${byz} drop=${p.drop} flaky=[${flaky.join(' ')}] dup=${p.duplicate} delay≤${p.maxDelay}ms ` +
    `partitions=[${p.partitions.map((x) => `${x.kind}@${x.from}-${x.to}`).join(' ')}] crashes=[${p.crashes.map((c) => `${c.node}@${c.at}+${c.downFor}`).join(' ')}]`
  );
}

type Event =
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly epoch: number; readonly msg: SimMessage }
  | { readonly kind: 'timer'; readonly node: number; readonly epoch: number; readonly input: TimerInput }
  | { readonly kind: 'crash'; readonly node: number; readonly downFor: number }
  | { readonly kind: 'restart'; readonly node: number }
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
    case 'status':
      return `S${m.height}`;
    case 'getBlocks':
      return `G${m.from}`;
    case 'blocks':
      return `B${m.items.length}`;
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
  const config: ConsensusConfig = { chainId: genesis.chainId, timeouts: SIM_TIMEOUTS, ...(o.brokenCore ? { faults: { ignoreLocks: true } } : {}) };
  const committedAt = new Map<number, { hash: string; node: number }>();
  const rootsAt = new Map<number, string>();
  const verified = new Map<string, boolean>();
  let now = GENESIS_TIME;
  let healed = false;
  let healedAt = -1;
  let deadline = Infinity;
  let messages = 0;
  let dropped = 0;
  let crashes = 0;
  let evidence = 0;
  let maxRound = 0;
  /** Heights above this started after the heal: they must decide within a few rounds. */
  let freshAbove = Infinity;
  let maxFreshRound = 0;

  // Most messages are fast; a long tail up to the plan's maximum reorders them.
  const delay = (): number => (healed ? netRng.int(1, HEALED_MAX_DELAY) : 1 + Math.floor(plan.maxDelay * netRng.float() ** 3));

  const world: World = {
    get now() {
      return now;
    },
    genesis,
    n: plan.n,
    tickMs: TICK_MS,
    commitDelayMs: COMMIT_DELAY_MS,
    wallets,
    send(from, to, msg) {
      messages++;
      const t = now - GENESIS_TIME;
      if (!healed) {
        if (plan.partitions.some((p) => t >= p.from && t < p.to && !canTalk(p, from, to))) {
          dropped++;
          return;
        }
        if (netRng.chance(plan.drop) || netRng.chance(plan.linkDrop[from][to])) {
          dropped++;
          return;
        }
      }
      const epoch = nodes[to].epoch;
      queue.push(now + delay(), { kind: 'deliver', from, to, epoch, msg });
      if (!healed && netRng.chance(plan.duplicate)) queue.push(now + delay(), { kind: 'deliver', from, to, epoch, msg });
    },
    setTimer(node, epoch, delayMs, input) {
      queue.push(now + delayMs, { kind: 'timer', node, epoch, input });
    },
    beforeCommit(node: SimNode, block: Block, certificate: Certificate) {
      const height = Number(block.header.height);
      const hash = toHex(blockHash(block.header));
      if (height !== node.ledger.height + 1) throw new SafetyViolation(`node ${node.index} committed height ${height} on ${node.ledger.height}`);
      const why = certificateError(genesis.chainId, certificate, node.ledger.bookkeepersAt(height), blockHash(block.header));
      if (why) throw new SafetyViolation(`node ${node.index} committed block ${height} without a valid certificate: ${why}`);
      const agreed = committedAt.get(height);
      if (agreed && agreed.hash !== hash) {
        throw new SafetyViolation(`agreement: node ${node.index} committed ${hash.slice(0, 12)} at height ${height}, node ${agreed.node} committed ${agreed.hash.slice(0, 12)}`);
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
    onEvidence(node: SimNode, first: SignedVote, second: SignedVote) {
      const offender = keys.findIndex((k) => toHex(k.publicKey) === toHex(first.vote.validator));
      if (!plan.byzantine.has(offender)) {
        throw new SafetyViolation(`node ${node.index} holds evidence that honest node ${offender} signed two votes at ${first.vote.height}/${first.vote.round}/${first.vote.type}`);
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

  const nodes = keys.map(
    (k, i) => new SimNode(i, k, plan.byzantine.get(i) ?? 'honest', new SimDisk(), config, world, root.fork()),
  );
  const honest = nodes.filter((n) => n.honest);

  for (const c of plan.crashes) queue.push(GENESIS_TIME + c.at, { kind: 'crash', node: c.node, downFor: c.downFor });
  queue.push(GENESIS_TIME + plan.healAt, { kind: 'heal' });
  for (const n of nodes) await n.boot();

  const roundMs = (r: number): number =>
    timeoutDelay(config, 'propose', r) + timeoutDelay(config, 'prevote', r) + timeoutDelay(config, 'precommit', r) + 6 * HEALED_MAX_DELAY + TICK_MS;
  const heightBudget = (r0: number): number => {
    let ms = 0;
    for (let r = r0; r <= r0 + plan.f + 2; r++) ms += roundMs(r);
    return ms + COMMIT_DELAY_MS;
  };

  const heal = async (): Promise<void> => {
    healed = true;
    healedAt = now;
    for (const n of honest) if (!n.up) await n.boot();
    const topRound = Math.max(...honest.map((n) => n.state.round));
    const lowest = Math.min(...honest.map((n) => n.ledger.height));
    freshAbove = Math.max(...nodes.map((n) => n.ledger.height)) + 1;
    // Commits must resume: the stuck height within f+3 rounds from the highest round anyone is
    // in, and each further height within f+3 rounds, plus time to sync blocks.
    deadline = now + 10 * TICK_MS + heightBudget(topRound) + (plan.heights - lowest) * heightBudget(0);
    world.log(-1, `healed: heights ${nodes.map((n) => n.ledger.height).join(',')}, top round ${topRound}, deadline in ${deadline - now}ms`);
    trace.add(`H${now}`);
  };

  let events = 0;
  let failure: SimResult['failure'];
  try {
    for (;;) {
      if (healed && honest.every((n) => n.ledger.height >= plan.heights)) break;
      if (!healed && Math.max(...honest.map((n) => n.ledger.height)) >= plan.heights - 2) await heal();
      const ev = queue.pop();
      if (!ev) throw new Error('simulation ran out of events');
      now = ev.at;
      if (now > deadline || ++events > MAX_EVENTS) {
        const behind = honest.filter((n) => n.ledger.height < plan.heights).map((n) => `node ${n.index} at height ${n.ledger.height} round ${n.state.round}`);
        failure = {
          kind: 'liveness',
          reason: `${behind.join(', ')} (target ${plan.heights}) ${now - healedAt}ms after the faults healed (budget ${deadline - healedAt}ms${events > MAX_EVENTS ? ', event budget spent' : ''})`,
        };
        break;
      }
      const e = ev.item;
      switch (e.kind) {
        case 'deliver': {
          const to = nodes[e.to];
          if (!to.up || to.epoch !== e.epoch) break;
          trace.add(`D${now}/${e.from}>${e.to}/${msgSummary(e.msg)}`);
          await to.receive(e.from, e.msg);
          break;
        }
        case 'timer': {
          const n = nodes[e.node];
          if (!n.up || n.epoch !== e.epoch) break;
          trace.add(`T${now}/${e.node}/${typeof e.input === 'string' ? e.input : e.input.kind}`);
          await n.onTimer(e.input);
          break;
        }
        case 'crash': {
          const n = nodes[e.node];
          if (healed || !n.up) break;
          const lost = n.disk.crash(diskRng);
          n.crash();
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
          await n.boot();
          break;
        }
        case 'heal':
          if (!healed) await heal();
          break;
      }
    }
  } catch (e) {
    if (!(e instanceof SafetyViolation)) throw e;
    failure = { kind: 'safety', reason: e.message };
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
