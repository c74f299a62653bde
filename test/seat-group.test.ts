import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, readDevnet, restartEtcd, restartNode, startDevnet, stopDevnet, type DevnetInfo, type DevnetNode } from '../src/cli/devnet.ts';
import { decodeSignedProposal } from '../src/consensus/index.ts';
import { fromHex, Keystore, toHex, type KeyPair } from '../src/crypto/index.ts';
import { decodeSignedVote, verifyVote, VoteType } from '../src/ledger/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { createP2PNode, type P2PNode } from '../src/p2p/index.ts';
import type { BlockAnswer, SignerGroupAnswer, StatusAnswer } from '../src/sdk/wire.ts';
import { freePort, nodeEnv, sleep, waitFor, zeusAsync } from './helpers/processes.ts';
import { TransferLoad } from './helpers/transferLoad.ts';

// Issue 18 with real processes: a devnet of four seats where seat 0 is kept by a group of three
// `zeus node start` members sharing bookkeeper-0's key (`startDevnet({ groupSize: 3 })`), a real
// 3-member etcd cluster electing the one that signs. Each member reaches etcd through a TCP relay
// of this test's own, so that one member can be cut off from etcd while it stays on the p2p
// network. A libp2p observer connected to every node records every proposal and vote signed by
// the seat's key, and every committed certificate is read: across all the faults below no two
// different messages may exist for one (height, round, step), and no node may report
// equivocation. Must-shows 1, 2, 3 and 5 of the issue; the 1,000 randomized trials (4) are
// src/node/signerGroup.test.ts's.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-seatgroup-'));
const BLOCK_MS = 500;
/** SignerGroup's default lease (the devnet does not set one). */
const LEASE_TTL_MS = 2_000;
/**
 * Campaign time: etcd notices an expired lease on its lessor's check (every 500 ms), a member
 * campaigns every 100 ms, and its campaign is one etcd transaction (bounded by 1 s).
 */
const CAMPAIGN_MS = 500 + 100 + 1_000;
/** The bound on a takeover: from the active member's death to the next signature for the seat. */
const FAILOVER_BOUND_MS = 2 * BLOCK_MS + LEASE_TTL_MS + CAMPAIGN_MS;
const SENDERS = 20;
const RATE = 40;

let net: DevnetInfo;
let seat: KeyPair;
const relays = new Map<string, Relay>();
const paused = new Set<number>();

// ---- a TCP relay between a member and etcd, which the test can cut ----

/** Forwards a member's etcd connections; cut: every connection is closed and new ones are held without an answer. */
class Relay {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  cut = false;

  static async open(upstreams: string[]): Promise<{ relay: Relay; urls: string[] }> {
    const relay = new Relay();
    const urls: string[] = [];
    for (const u of upstreams) {
      const target = new URL(u);
      const port = await freePort();
      const server = createServer((client) => relay.accept(client, target.hostname, Number(target.port)));
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
      relay.servers.push(server);
      urls.push(`http://127.0.0.1:${port}`);
    }
    return { relay, urls };
  }

  private accept(client: Socket, host: string, port: number): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    // Cut off: the connection is taken and nothing ever comes back (as through a dead link).
    if (this.cut) return;
    const up = connect(port, host);
    this.sockets.add(up);
    up.once('close', () => {
      this.sockets.delete(up);
      client.destroy();
    });
    client.once('close', () => up.destroy());
    up.on('error', () => undefined);
    client.pipe(up);
    up.pipe(client);
  }

  /** The member loses etcd: its connections end, and new ones hang. */
  sever(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  /** The link is back: the held connections end, so the member dials again and gets through. */
  heal(): void {
    this.cut = false;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.sever();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

// ---- what the seat's key signed, as seen on the network and in the chain ----

interface Seen {
  hash: string;
  where: string;
}

/** Every distinct message by the seat's key for each (height, round, step). */
const book = new Map<string, Seen[]>();
let observed = 0;
/** Heights at which the observer saw a message by the seat's key on the network. */
const gossipHeights = new Set<number>();

function note(height: bigint | number, round: number, step: string, hash: Uint8Array | string, where: string): void {
  const key = `${height}/${round}/${step}`;
  const hex = typeof hash === 'string' ? hash : toHex(hash);
  const list = book.get(key) ?? [];
  if (!list.some((s) => s.hash === hex)) list.push({ hash: hex, where });
  book.set(key, list);
}

const conflicts = (): [string, Seen[]][] => [...book.entries()].filter(([, l]) => l.length > 1);

/** The latest height at which the seat's key signed anything the observer or a certificate showed. */
const lastSeatHeight = (): number => Math.max(0, ...[...book.keys()].map((k) => Number(k.split('/')[0])));

let observer: P2PNode | undefined;

async function startObserver(): Promise<void> {
  const seatHex = toHex(seat.publicKey);
  const boot = net.nodes.map((n) => `${n.p2p}/p2p/${n.peerId}`);
  observer = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: boot, chainId: net.chainId, serveBlocks: async () => [] });
  observer.subscribe('votes', (data) => {
    try {
      const sv = decodeSignedVote(data);
      if (toHex(sv.vote.validator) === seatHex && verifyVote(sv)) {
        observed++;
        gossipHeights.add(Number(sv.vote.height));
        note(sv.vote.height, sv.vote.round, sv.vote.type === VoteType.Prevote ? 'prevote' : 'precommit', sv.vote.blockHash, 'gossip');
      }
    } catch {
      // not a vote: nothing to record
    }
    return 'keep';
  });
  observer.subscribe('proposals', (data) => {
    try {
      const sp = decodeSignedProposal(data);
      if (toHex(sp.proposal.proposer) === seatHex) {
        observed++;
        gossipHeights.add(Number(sp.proposal.height));
        note(sp.proposal.height, sp.proposal.round, 'proposal', sp.proposal.blockHash, 'gossip');
      }
    } catch {
      // not a proposal
    }
    return 'keep';
  });
  await observer.start();
}

/** Committed heights read so far (from node1, a seat of its own), and which of them the seat's precommit is in. */
const certified = new Map<number, { seatSigned: boolean; txs: number; at: number }>();

/** Reads the certificates of the heights committed since the last call; notes the seat's precommit in each. */
async function readCertificates(): Promise<void> {
  const url = net.nodes[1].api;
  const top = (await statusOf(url))?.height ?? 0;
  for (let h = Math.max(1, ...certified.keys()) + (certified.size ? 1 : 0); h <= top; h++) {
    const r = await fetch(`${url}/blocks/${h}`, { signal: AbortSignal.timeout(5_000) });
    if (r.status !== 200) break;
    const b = (await r.json()) as BlockAnswer;
    const c = b.certificate as unknown as { height: string | number; round: number; blockHash: string; signatures: string[] };
    const body = {
      chainId: net.chainId,
      type: VoteType.Precommit,
      height: BigInt(c.height),
      round: c.round,
      blockHash: fromHex(c.blockHash),
      validator: seat.publicKey,
    };
    const seatSigned = c.signatures.some((s) => verifyVote({ vote: body, signature: fromHex(s) }));
    if (seatSigned) note(h, c.round, 'precommit', c.blockHash, `certificate ${h}`);
    certified.set(h, { seatSigned, txs: b.txs.flat().length, at: Date.now() });
  }
}

// ---- the nodes ----

const members = (): number[] => net.nodes.map((n, i) => (n.group ? i : -1)).filter((i) => i >= 0);

async function statusOf(url: string): Promise<StatusAnswer | undefined> {
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1_500) });
    return r.ok ? ((await r.json()) as StatusAnswer) : undefined;
  } catch {
    return undefined;
  }
}

async function groupOf(i: number): Promise<SignerGroupAnswer | undefined> {
  if (paused.has(i) || !isAlive(net.nodes[i].pid)) return undefined;
  return (await statusOf(net.nodes[i].api))?.signerGroup;
}

/** The member that is active (by its own word) and has signed since it became active after `since` (ms). */
async function signingSince(since: number, except: number[] = []): Promise<{ i: number; g: SignerGroupAnswer } | undefined> {
  for (const i of members()) {
    if (except.includes(i)) continue;
    const g = await groupOf(i);
    if (g?.active && g.firstSignedSinceActive && Date.parse(g.firstSignedSinceActive.at) > since) return { i, g };
  }
  return undefined;
}

async function activeMember(): Promise<number> {
  let found: number | undefined;
  await waitFor(
    async () => {
      for (const i of members()) if ((await groupOf(i))?.active) found = i;
      return found !== undefined;
    },
    20_000,
    'an active member of seat 0',
    100,
  );
  return found!;
}

const chainHeight = async (): Promise<number> => (await statusOf(net.nodes[1].api))?.height ?? 0;

interface CandidateJson {
  name: string;
  missedTotal: string;
  jailedUntil: number | null;
  slashed: boolean;
}

async function seatCandidate(): Promise<CandidateJson> {
  const r = await fetch(`${net.nodes[1].api}/bookkeepers`);
  const all = ((await r.json()) as { candidates: CandidateJson[] }).candidates;
  return all.find((c) => c.name === 'bookkeeper-0')!;
}

function logOf(n: DevnetNode): string {
  try {
    return readFileSync(n.log, 'utf8');
  } catch {
    return '';
  }
}

// ---- load ----

let load: TransferLoad | undefined;
let poller: NodeJS.Timeout | undefined;
let reading: Promise<void> = Promise.resolve();
const report: Record<string, unknown> = {};

function killAll(): void {
  // A crashed test run must not leave processes behind: SIGCONT first (a stopped process ignores SIGTERM).
  try {
    const info = readDevnet(dir);
    for (const p of [...info.nodes, ...(info.etcd ?? [])]) {
      if (!isAlive(p.pid)) continue;
      process.kill(p.pid, 'SIGCONT');
      process.kill(p.pid, 'SIGKILL');
    }
  } catch {
    // no devnet.json: nothing was started
  }
}
process.once('exit', killAll);

beforeAll(async () => {
  const senders = Array.from({ length: SENDERS }, (_, i) => `s${i}`);
  net = await startDevnet({
    dir,
    validators: 4,
    groupSize: 3,
    workers: 0,
    sampleApps: false,
    blockTimeMs: BLOCK_MS,
    accounts: senders,
    // The seat misses proposals on purpose here: it must not be jailed out of the set meanwhile.
    params: { missedToJail: 1_000 },
    groupEndpoints: async (member, etcd) => {
      const { relay, urls } = await Relay.open(etcd);
      relays.set(member, relay);
      return urls;
    },
  });
  const ks = new Keystore(join(net.nodes[0].home, 'keys'));
  seat = ks.load('bookkeeper-0', DEV_PASSPHRASE);
  // To the seats that are not the group (they are never faulted here).
  load = new TransferLoad({
    chainId: net.chainId,
    senders: senders.map((s) => ks.load(s, DEV_PASSPHRASE)),
    rate: RATE,
    everyMs: 100,
    target: (s) => net.nodes[(s % 3) + 1].api,
  });
  await startObserver();
  poller = setInterval(() => {
    reading = reading.then(() => readCertificates().catch(() => undefined));
  }, 250);
  load.start();
}, 180_000);

afterAll(async () => {
  clearInterval(poller);
  await load?.stop();
  await reading;
  await observer?.stop().catch(() => undefined);
  for (const i of paused) process.kill(net.nodes[i].pid, 'SIGCONT');
  if (net) await stopDevnet(dir).catch(() => undefined);
  killAll();
  for (const r of relays.values()) await r.close();
  console.log(`seat-group measurements: ${JSON.stringify(report)}`);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a bookkeeper seat kept by a group of three processes (etcd elects the signer)', () => {
  it('starts: three members share the seat’s key, each with its own peer id; exactly one is active; devnet status says which', async () => {
    expect(members().map((i) => net.nodes[i].name)).toEqual(['node0', 'node0-1', 'node0-2']);
    const ids = net.nodes.map((n) => n.peerId);
    expect(new Set(ids).size).toBe(net.nodes.length);
    await activeMember();
    await waitFor(() => gossipHeights.size > 0, 30_000, 'a vote by the seat’s key on the network', 200);
    // The members' views read at one moment: exactly one is active and each names it. (Read against
    // an earlier activeMember(), a lease that lapsed on a loaded machine in between failed this.)
    let a = -1;
    let views: (SignerGroupAnswer | undefined)[] = [];
    await waitFor(
      async () => {
        views = await Promise.all(members().map(groupOf));
        const active = members().filter((_, k) => views[k]?.active);
        a = active.length === 1 ? active[0] : -1;
        return a >= 0 && views.every((g) => g?.leader === net.nodes[a].name);
      },
      20_000,
      'one active member, named by every member',
      200,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(views.map((g) => g && { active: g.active, leader: g.leader }))}`);
    });
    const st = await statusOf(net.nodes[a].api);
    expect(st?.bookkeeper).toBe(toHex(seat.publicKey));
    const metrics = await (await fetch(`${net.nodes[a].api}/metrics`)).text();
    expect(metrics).toMatch(/^zeus_signer_group_active 1$/m);
    expect(metrics).toMatch(/^zeus_signer_group_refused_cas_total \d+$/m);
    expect(metrics).toMatch(/^zeus_signer_group_failovers_total \d+$/m);
    const standby = members().find((i) => i !== a)!;
    expect(await (await fetch(`${net.nodes[standby].api}/metrics`)).text()).toMatch(/^zeus_signer_group_active 0$/m);
    // `zeus devnet status` names the active member and the etcd cluster's health.
    const json = await zeusAsync(['--json', 'devnet', 'status', '--dir', dir], nodeEnv(), 60_000);
    const st2 = JSON.parse(json.out) as { nodes: { name: string; signerGroup?: { active?: boolean } }[]; etcd: { healthy: boolean }[] };
    expect(st2.nodes.filter((n) => n.signerGroup?.active).map((n) => n.name)).toEqual([net.nodes[a].name]);
    expect(st2.nodes.filter((n) => n.signerGroup).length).toBe(3);
    expect(st2.etcd.map((m) => m.healthy)).toEqual([true, true, true]);
    const text = (await zeusAsync(['devnet', 'status', '--dir', dir], nodeEnv(), 60_000)).out;
    expect(text).toMatch(new RegExp(`^${net.nodes[a].name} up .*group seat0: ACTIVE`, 'm'));
    expect(text).toMatch(new RegExp(`^${net.nodes[standby].name} up .*group seat0: standby \\(active: ${net.nodes[a].name}\\)`, 'm'));
  }, 60_000);

  it('1. SIGKILL of the active member under load: another signs within the bound, few slots missed, no equivocation', async () => {
    const a = await activeMember();
    const missedBefore = BigInt((await seatCandidate()).missedTotal);
    const sentBefore = load!.sent;
    const h0 = await chainHeight();
    const killedAt = Date.now();
    process.kill(net.nodes[a].pid, 'SIGKILL');
    let next: { i: number; g: SignerGroupAnswer } | undefined;
    await waitFor(
      async () => {
        next = await signingSince(killedAt, [a]);
        return next !== undefined;
      },
      30_000,
      'another member signing for the seat',
      50,
    );
    const failoverMs = Date.parse(next!.g.firstSignedSinceActive!.at) - killedAt;
    // The heights committed meanwhile without the seat's precommit; then the chain's own count of missed proposals.
    const h1 = await chainHeight();
    await waitFor(async () => (await chainHeight()) >= h1 + 4, 30_000, 'four more heights', 100);
    await reading;
    await readCertificates();
    const window = [...certified.entries()].filter(([h]) => h > h0 && h <= h1);
    // Heights the seat signed nothing at, as the observer saw the network (a certificate holds only
    // the first two thirds of the precommits, and the seat's, a compare-and-swap later, is seldom among them).
    const unsigned = window.filter(([h]) => !gossipHeights.has(h)).length;
    const missed = BigInt((await seatCandidate()).missedTotal) - missedBefore;
    const slotBound = Math.ceil(FAILOVER_BOUND_MS / BLOCK_MS);
    report.failover = {
      killed: net.nodes[a].name,
      took: net.nodes[next!.i].name,
      failoverMs,
      boundMs: FAILOVER_BOUND_MS,
      heights: h1 - h0,
      unsigned,
      missedProposals: Number(missed),
    };
    expect(failoverMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
    expect(unsigned).toBeLessThanOrEqual(slotBound);
    expect(Number(missed)).toBeLessThanOrEqual(slotBound);
    expect(next!.g.failovers).toBeGreaterThanOrEqual(1);
    // The load went on through it.
    expect(load!.sent - sentBefore).toBeGreaterThan(0);
    expect(window.reduce((n, [, c]) => n + c.txs, 0)).toBeGreaterThan(0);
    expect(conflicts()).toEqual([]);
    // The crashed member comes back as a follower (its guard and node key on disk).
    await waitFor(() => !isAlive(net.nodes[a].pid), 10_000, `${net.nodes[a].name} to be gone`);
    net.nodes[a] = { ...restartNode(dir, net.nodes[a].name), peerId: net.nodes[a].peerId };
    await waitFor(async () => (await groupOf(a)) !== undefined, 60_000, `${net.nodes[a].name} back`, 200);
    expect((await groupOf(a))?.active).toBe(false);
  }, 120_000);

  it('2. SIGSTOP of the active member past its lease: another takes over; after SIGCONT the first signs nothing for the heights it missed', async () => {
    const b = await activeMember();
    const before = (await groupOf(b))!;
    const pausedAt = Date.now();
    const hPause = await chainHeight();
    process.kill(net.nodes[b].pid, 'SIGSTOP');
    paused.add(b);
    let next: { i: number; g: SignerGroupAnswer } | undefined;
    await waitFor(
      async () => {
        next = await signingSince(pausedAt, [b]);
        return next !== undefined;
      },
      30_000,
      'another member signing while the first is stopped',
      50,
    );
    // Past the lease, and a few heights on, before it resumes.
    await sleep(Math.max(0, pausedAt + LEASE_TTL_MS + 2_000 - Date.now()));
    const hResume = await chainHeight();
    process.kill(net.nodes[b].pid, 'SIGCONT');
    paused.delete(b);
    const resumedAt = Date.now();
    await sleep(4 * BLOCK_MS + 2_000);
    const after = (await groupOf(b))!;
    report.pause = {
      paused: net.nodes[b].name,
      took: net.nodes[next!.i].name,
      takeoverMs: Date.parse(next!.g.firstSignedSinceActive!.at) - pausedAt,
      heightsMissed: hResume - hPause,
      lastSignedBefore: before.lastSigned,
      lastSignedAfter: after.lastSigned,
      refusedInactiveAfterResume: after.refusedInactive - before.refusedInactive,
    };
    expect(hResume).toBeGreaterThan(hPause + 1);
    expect(after.active).toBe(false);
    // Nothing it signed after it resumed: its last signature is from before it was stopped (at most the height it was at).
    expect(after.lastSigned === null || Date.parse(after.lastSigned.at) < resumedAt).toBe(true);
    expect(after.lastSigned?.height ?? 0).toBeLessThanOrEqual(hPause + 1);
    // The seat went on signing meanwhile, and never two messages for one slot.
    await readCertificates();
    expect(lastSeatHeight()).toBeGreaterThan(hPause + 1);
    expect(conflicts()).toEqual([]);
  }, 90_000);

  it('3. the active member cut off from etcd (its TCP relay), not from the bookkeepers: it stops signing before another starts', async () => {
    const c = await activeMember();
    const relay = relays.get(net.nodes[c].name)!;
    const cutAt = Date.now();
    relay.sever();
    let next: { i: number; g: SignerGroupAnswer } | undefined;
    try {
      await waitFor(
        async () => {
          next = await signingSince(cutAt, [c]);
          return next !== undefined;
        },
        30_000,
        'another member signing after the cut',
        50,
      );
      const cutOff = (await groupOf(c))!;
      const st = await statusOf(net.nodes[c].api);
      const lastOfCut = cutOff.lastSigned ? Date.parse(cutOff.lastSigned.at) : 0;
      const firstOfNext = Date.parse(next!.g.firstSignedSinceActive!.at);
      report.cut = {
        cut: net.nodes[c].name,
        took: net.nodes[next!.i].name,
        stoppedAfterCutMs: lastOfCut - cutAt,
        gapMs: firstOfNext - lastOfCut,
        takeoverMs: firstOfNext - cutAt,
      };
      expect(cutOff.active).toBe(false);
      expect(lastOfCut).toBeLessThan(firstOfNext);
      // Still on the p2p network, following the chain.
      const connected = ((st?.consensus ?? {}) as { peers?: { connected: boolean }[] }).peers?.filter((p) => p.connected).length ?? 0;
      expect(connected).toBeGreaterThanOrEqual(3);
      // Reaches the height the chain has now (two reads compared at once differed by 4 on a loaded machine).
      const now = await chainHeight();
      await waitFor(async () => ((await statusOf(net.nodes[c].api))?.height ?? 0) >= now, 10_000, 'the member cut off from etcd to follow the chain', 200);
      expect(logOf(net.nodes[c])).toMatch(/no longer active/);
    } finally {
      relay.heal();
    }
    expect(conflicts()).toEqual([]);
  }, 90_000);

  it('5. etcd loses its quorum (2 of 3 killed): the seat stops signing, the other three seats go on; restored, it signs again', async () => {
    await activeMember();
    const etcd = readDevnet(dir).etcd!;
    const lostAt = Date.now();
    for (const i of [1, 2]) process.kill(etcd[i].pid, 'SIGKILL');
    // A member holds on to a signature at most until its lease runs out by its clock (< ttl after its last keepalive).
    await sleep(LEASE_TTL_MS + 1_500);
    const quietFrom = Date.now();
    await reading;
    await readCertificates();
    const hQuiet = await chainHeight();
    await waitFor(async () => (await chainHeight()) >= hQuiet + 6, 60_000, 'six heights without the seat', 200);
    await reading;
    await readCertificates();
    const hEnd = await chainHeight();
    const groups = await Promise.all(members().map(groupOf));
    const lastSigned = Math.max(...groups.map((g) => (g?.lastSigned ? Date.parse(g.lastSigned.at) : 0)));
    const seatSignedDuring = [...certified.entries()].filter(([h, x]) => h > hQuiet + 1 && h <= hEnd && (x.seatSigned || gossipHeights.has(h))).length;
    expect(groups.every((g) => g && !g.active)).toBe(true);
    // Every signature needs a compare-and-swap through etcd's raft: without a quorum none commits, so the seat stops at once.
    expect(lastSigned).toBeLessThanOrEqual(lostAt + 1_000);
    expect(lastSigned).toBeLessThan(quietFrom);
    expect(seatSignedDuring).toBe(0);
    // Restored: a member wins again and the seat's precommits are back in the certificates.
    await waitFor(() => !isAlive(etcd[1].pid) && !isAlive(etcd[2].pid), 10_000, 'the two etcd members to be gone');
    const restoredAt = Date.now();
    restartEtcd(dir, 1);
    restartEtcd(dir, 2);
    let back: { i: number; g: SignerGroupAnswer } | undefined;
    await waitFor(
      async () => {
        back = await signingSince(restoredAt);
        return back !== undefined;
      },
      60_000,
      'the seat signing again after etcd is back',
      100,
    );
    const hBack = await chainHeight();
    await waitFor(
      async () => {
        await readCertificates();
        return [...gossipHeights].some((h) => h > hBack);
      },
      30_000,
      'a vote by the seat’s key again',
      200,
    );
    report.quorumLoss = {
      stoppedSigningMs: lastSigned - lostAt,
      heightsWithoutSeat: hEnd - hQuiet,
      backAfterMs: Date.parse(back!.g.firstSignedSinceActive!.at) - restoredAt,
      refusedCas: groups.map((g) => g?.refusedCas),
    };
    expect(conflicts()).toEqual([]);
  }, 150_000);

  it('no equivocation anywhere: one message per (height, round, step) by the seat’s key, no node detected any, the seat is not slashed', async () => {
    await reading;
    await readCertificates();
    // The book is not empty: the observer saw the seat sign at most heights, and every height whose
    // certificate holds the seat's precommit.
    const since = Math.min(...gossipHeights);
    const signedHeights = [...certified.entries()].filter(([, c]) => c.seatSigned).map(([h]) => h);
    const span = [...certified.keys()].filter((h) => h >= since);
    const covered = span.filter((h) => gossipHeights.has(h)).length;
    report.observer = { messages: observed, heightsObserved: span.length, seatSeenAt: covered, certifiedWithSeat: signedHeights.length };
    // Less the heights of the faults above (about a third of the run), where it signs nothing.
    expect(covered).toBeGreaterThan(span.length * 0.4);
    expect(signedHeights.filter((h) => h >= since && !gossipHeights.has(h))).toEqual([]);
    expect(conflicts()).toEqual([]);
    for (const n of readDevnet(dir).nodes) expect(logOf(n), `${n.name}'s log`).not.toMatch(/equivocat/i);
    const cand = await seatCandidate();
    expect(cand.slashed).toBe(false);
    expect(cand.jailedUntil ?? 0).toBe(0);
    report.signatures = { slots: book.size, gossiped: observed, heights: certified.size };
  }, 30_000);

  it('zeus devnet stop stops the nodes and the etcd cluster', async () => {
    clearInterval(poller);
    await load?.stop();
    await reading;
    const info = readDevnet(dir);
    const r = await zeusAsync(['devnet', 'stop', '--dir', dir], nodeEnv(), 120_000);
    expect(r.code, r.err).toBe(0);
    expect([...info.nodes, ...(info.etcd ?? [])].filter((p) => isAlive(p.pid)).map((p) => p.pid)).toEqual([]);
  }, 150_000);
});
