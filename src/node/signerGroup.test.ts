import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { toHex } from '../crypto/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../test/helpers/etcd.ts';
import { runFailoverTrials } from '../../test/helpers/signerGroupTrials.ts';
import { EtcdAdmin, hash32, SignatureBook, TestMember, waitFor } from '../../test/helpers/signerGroup.ts';

// A seat kept by a group of three members, against a real three-member etcd cluster started here
// (test/helpers/etcd.ts). Every authorization that went through is booked; the book must never
// hold two different hashes for one (height, round, step).

const TTL = 1;
const CAMPAIGN_MS = 100;
const TRIALS = Number(process.env.ZEUS_TRIALS ?? 200);

let cluster: EtcdCluster;
const admins: EtcdAdmin[] = [];
const everyone: TestMember[] = [];

beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
});

afterAll(async () => {
  await Promise.all(everyone.map((m) => m.close().catch(() => undefined)));
  for (const a of admins) a.close();
  await cluster?.close();
});

async function seat(group: string, n = 3, ttl = TTL): Promise<{ members: TestMember[]; book: SignatureBook; admin: EtcdAdmin }> {
  const book = new SignatureBook();
  const members = await Promise.all(Array.from({ length: n }, (_, i) => TestMember.create(`m${i}`, book)));
  everyone.push(...members);
  for (const m of members) await m.join({ endpoints: cluster.endpoints, group, leaseTtlSec: ttl, campaignEveryMs: CAMPAIGN_MS });
  const admin = new EtcdAdmin(cluster, group);
  admins.push(admin);
  await waitFor('an active member', () => members.some((m) => m.active), 5_000);
  return { members, book, admin };
}

const activeOf = (members: TestMember[]): TestMember[] => members.filter((m) => m.active);

describe('a seat kept by a group of three (real etcd, 3 members)', () => {
  it('exactly one member is active; it signs a sequence; a repeat is allowed, a conflict and every other member are refused', async () => {
    // Semantics, not timing: a lease long enough that a keepalive slowed by a loaded machine does
    // not make the active member stand down in the middle.
    const { members, book, admin } = await seat('one', 3, 3);
    // Never two at once over a few campaign rounds. A member counts itself active only while its
    // lease is surely alive by its clock, so on a loaded machine a slow keepalive can leave none
    // for a moment: then one again.
    for (let i = 0; i < 10; i++) {
      expect(activeOf(members).length).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, CAMPAIGN_MS / 2));
    }
    await waitFor('exactly one active member', () => activeOf(members).length === 1, 5_000);
    const active = activeOf(members);
    expect(active).toHaveLength(1);
    const [a] = active;
    expect((await admin.leader())?.member).toBe(a.name);
    for (const m of members) expect(m.group!.stats().leader).toBe(a.name);

    const h1 = hash32();
    expect(await a.sign(1, 0, 'proposal', h1)).toEqual({ ok: true });
    expect(await a.sign(1, 0, 'prevote', h1)).toEqual({ ok: true });
    expect(await a.sign(1, 0, 'precommit', h1)).toEqual({ ok: true });
    expect(await a.sign(1, 0, 'prevote', h1)).toEqual({ ok: true }); // the very same message again
    const other = await a.sign(1, 0, 'precommit', hash32());
    expect(other).toMatchObject({ ok: false, why: 'GroupConflictError' });
    expect(await a.sign(2, 0, 'prevote', new Uint8Array())).toEqual({ ok: true }); // a nil vote
    expect(await a.sign(1, 1, 'prevote', h1)).toMatchObject({ ok: false, why: 'GroupConflictError' }); // a lower height
    expect(await admin.signed()).toMatchObject({ height: 2, round: 0, step: 'prevote', blockHash: '', member: a.name });

    for (const m of members.filter((x) => x !== a)) {
      expect(await m.sign(2, 0, 'precommit', h1)).toMatchObject({ ok: false, why: 'NotActiveError' });
      expect(m.group!.stats()).toMatchObject({ active: false, casOk: 0, refusedInactive: 1 });
    }
    expect(a.group!.stats()).toMatchObject({ active: true, leader: a.name, casOk: 5, refusedCas: 2, refusedInactive: 0 });
    expect(book.all.map((x) => `${x.member} ${x.height}/${x.round}/${x.step}`)).toEqual([
      `${a.name} 1/0/proposal`,
      `${a.name} 1/0/prevote`,
      `${a.name} 1/0/precommit`,
      `${a.name} 1/0/prevote`,
      `${a.name} 2/0/prevote`,
    ]);
    expect(a.guard.log.height).toBe(2);
    expect(book.conflicts()).toEqual([]);
    // Leaving resigns: once the others are gone, the active member's leader key goes with its lease.
    for (const m of members.filter((x) => x !== a)) await m.close();
    await a.close();
    expect(await admin.leader()).toBeUndefined();
  });

  it('a crashed active member (no resign) is replaced within ttl + 1 s, and its successor cannot sign what conflicts with what it signed', async () => {
    const { members, book } = await seat('crash');
    const took: number[] = [];
    const stalls: number[] = [];
    let lastHash = hash32();
    for (let height = 1; height <= 3; height++) {
      const a = await waitFor('an active member', () => activeOf(members)[0], 5_000);
      lastHash = hash32();
      expect(await a.sign(height, 0, 'proposal', lastHash)).toEqual({ ok: true });
      expect(await a.sign(height, 0, 'prevote', lastHash)).toEqual({ ok: true });
      // How long the machine held this process up meanwhile: etcd and the members wait on the same cores.
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const crashedAt = performance.now();
      a.crash();
      const b = await waitFor('another active member', () => activeOf(members)[0], 10_000, 2);
      took.push(Math.round(performance.now() - crashedAt));
      loop.disable();
      stalls.push(Math.round(loop.max / 1e6));
      expect(b).not.toBe(a);
      expect(b.group!.stats().failovers).toBeGreaterThanOrEqual(1);
      // The successor cannot sign another block at what the crashed member signed, nor go back.
      expect(await b.sign(height, 0, 'prevote', hash32())).toMatchObject({ ok: false, why: 'GroupConflictError' });
      expect(await b.sign(height, 0, 'proposal', hash32())).toMatchObject({ ok: false, why: 'GroupConflictError' });
      // The very same prevote again is no double sign; the next step goes on.
      expect(await b.sign(height, 0, 'prevote', lastHash)).toEqual({ ok: true });
      expect(await b.sign(height, 0, 'precommit', lastHash)).toEqual({ ok: true });
      await a.join({ endpoints: cluster.endpoints, group: 'crash', leaseTtlSec: TTL, campaignEveryMs: CAMPAIGN_MS });
    }
    console.log(
      `crash failover (lease ttl ${TTL} s, campaign every ${CAMPAIGN_MS} ms): ${took.join(', ')} ms; longest hold-ups of this process meanwhile ${stalls.join(', ')} ms`,
    );
    // etcd ends a lease at most ttl after the last keepalive it got (its lessor looks every 500 ms);
    // a follower then wins within one campaign round. A stretch in which the machine ran none of
    // the processes (seen beside a full suite: a failover of 2.2 s) is added to that bound.
    took.forEach((ms, i) => expect(ms, `failover ${i + 1}`).toBeLessThan(TTL * 1000 + 1_000 + stalls[i]));
    expect(book.conflicts()).toEqual([]);
    expect(book.at(3, 0, 'precommit').map((x) => x.hash)).toEqual([toHex(lastHash)]);
  });

  it('a paused active member stops counting itself active before anyone else can win; back, it is refused', async () => {
    const { members, book } = await seat('pause');
    const a = activeOf(members)[0];
    expect(await a.sign(4, 0, 'prevote', hash32())).toEqual({ ok: true });
    const pausedAt = performance.now();
    a.group!.suspend(2_500); // no keepalives, no campaigning: a stalled process
    let aInactiveAt = 0;
    let bActiveAt = 0;
    let b: TestMember | undefined;
    await waitFor(
      'a takeover',
      () => {
        const now = performance.now();
        if (!aInactiveAt && !a.active) aInactiveAt = now;
        b = members.find((m) => m !== a && m.active);
        if (b && !bActiveAt) bActiveAt = now;
        return b;
      },
      10_000,
      2,
    );
    console.log(
      `paused leader: inactive by its own clock after ${Math.round(aInactiveAt - pausedAt)} ms, successor active after ${Math.round(bActiveAt - pausedAt)} ms`,
    );
    expect(aInactiveAt).toBeGreaterThan(0);
    expect(aInactiveAt).toBeLessThan(bActiveAt);
    const y = hash32();
    expect(await b!.sign(5, 0, 'precommit', y)).toEqual({ ok: true });
    // Still paused in etcd's eyes (no keepalive sent), a asks to sign a later height: refused.
    expect(await a.sign(6, 0, 'proposal', hash32())).toMatchObject({ ok: false, why: 'NotActiveError' });
    await waitFor('the pause to end', () => performance.now() > pausedAt + 2_600, 5_000);
    expect(await a.sign(6, 0, 'proposal', hash32())).toMatchObject({ ok: false, why: 'NotActiveError' });
    await new Promise((r) => setTimeout(r, 3 * CAMPAIGN_MS));
    expect(activeOf(members)).toEqual([b]);
    expect(book.conflicts()).toEqual([]);
    expect(book.at(5, 0, 'precommit').map((x) => x.member)).toEqual([b!.name]);
  });

  it('a deposed member whose clock says it still leads is stopped by etcd: the transaction’s leadership compare fails', async () => {
    const { members, book } = await seat('deposed');
    const a = activeOf(members)[0];
    const x = hash32();
    expect(await a.sign(7, 0, 'proposal', x)).toEqual({ ok: true });
    a.frozenAt = performance.now(); // its clock stands still: its lease never runs out by it
    a.group!.suspend(60_000);
    const b = await waitFor('a takeover', () => members.find((m) => m !== a && m.active), 10_000, 2);
    expect(a.active).toBe(true); // a has not noticed
    const refusedBefore = a.group!.stats().refusedCas;
    const y = hash32();
    // Both race for the same prevote with different blocks: only b gets through.
    const [ra, rb] = await Promise.all([a.sign(7, 0, 'prevote', hash32()), b.sign(7, 0, 'prevote', y)]);
    expect(rb).toEqual({ ok: true });
    expect(ra).toMatchObject({ ok: false, why: 'NotActiveError' });
    expect(ra.error).toContain('lost the leadership');
    expect(a.active).toBe(false); // the refused compare told it
    expect(a.group!.stats().refusedCas).toBe(refusedBefore + 1);
    // A later height, too.
    a.frozenAt = performance.now();
    expect(await a.sign(8, 0, 'proposal', hash32())).toMatchObject({ ok: false, why: 'NotActiveError' });
    a.frozenAt = undefined;
    a.group!.suspend(0);
    expect(book.conflicts()).toEqual([]);
    expect(book.at(7, 0, 'prevote').map((r) => [r.member, r.hash])).toEqual([[b.name, toHex(y)]]);
  });

  // Which etcd members die matters for how soon the active member stands down, not for safety.
  // With the raft leader gone the survivor renews no lease: the member stands down ttl - margin
  // after its last answered keepalive. A raft leader left alone keeps renewing leases until it
  // notices it lost its quorum (etcd 3.4 renews a lease at its raft leader without a raft round),
  // so the member may count itself active a little longer — but it cannot sign: the transaction
  // needs a quorum.
  for (const leaderSurvives of [false, true]) {
    it(`without etcd quorum (${leaderSurvives ? 'the raft leader left alone' : 'the raft leader killed'}) the group refuses within the call timeout; with it back, it signs again`, async () => {
      const group = leaderSurvives ? 'quorum-b' : 'quorum-a';
      const { members, book } = await seat(group);
      const a = activeOf(members)[0];
      const h = leaderSurvives ? 2 : 1;
      expect(await a.sign(h, 0, 'proposal', hash32())).toEqual({ ok: true });
      const leader = await cluster.leaderIndex();
      expect(leader).toBeDefined();
      const victims = leaderSurvives ? [0, 1, 2].filter((i) => i !== leader) : [leader!, [0, 1, 2].find((i) => i !== leader)!];
      let standDownAt = 0;
      const watch = setInterval(() => {
        if (!standDownAt && !a.active) standDownAt = performance.now();
      }, 1);
      const killedAt = performance.now();
      await Promise.all(victims.map((i) => cluster.kill(i)));
      const t = performance.now();
      const refused = await a.sign(h, 0, 'prevote', hash32());
      const refusalMs = Math.round(performance.now() - t);
      expect(refused.ok).toBe(false);
      expect(['GroupUnavailableError', 'NotActiveError']).toContain(refused.why);
      expect(refusalMs).toBeLessThan(1_500);
      await waitFor('the active member to stand down', () => standDownAt || undefined, 5_000, 2);
      clearInterval(watch);
      const downMs = Math.round(standDownAt - killedAt);
      // Its last keepalive was answered at most ttl/4 before the kill (or, a lone raft leader
      // renewing, until it steps down: up to two election timeouts, 1 s); active until ttl - margin after that.
      expect(downMs).toBeLessThan(TTL * 1000 + (leaderSurvives ? 1_000 : 0));
      // From then on (and 2 s after the kill at the latest) nobody is active, and every try is refused.
      await waitFor('2 s after the kill', () => performance.now() > killedAt + 2_000, 5_000);
      const until = performance.now() + 1_500;
      let tries = 0;
      while (performance.now() < until) {
        expect(activeOf(members)).toEqual([]);
        for (const m of members) expect((await m.sign(h, 0, 'prevote', hash32())).ok).toBe(false);
        tries++;
        await new Promise((r) => setTimeout(r, 20));
      }
      const restartAt = performance.now();
      await Promise.all(victims.map((i) => cluster.restart(i, false)));
      await cluster.waitHealthy();
      const back = await waitFor('an active member again', () => activeOf(members)[0], 15_000, 5);
      const backMs = Math.round(performance.now() - restartAt);
      // The next round. (Not the refused prevote's slot: a transaction that timed out on a lone
      // raft leader stays in its log and may commit once the quorum is back — the mark then says
      // a prevote was signed that never was, which costs that slot, never safety.)
      const z = hash32();
      expect(await back.sign(h, 1, 'prevote', z)).toEqual({ ok: true });
      console.log(
        `quorum lost (${leaderSurvives ? 'raft leader left alone' : 'raft leader killed'}): refusal in ${refusalMs} ms, active member stood down ${downMs} ms after the kill, ${tries} rounds of refused tries; etcd restarted: active again after ${backMs} ms`,
      );
      expect(book.conflicts()).toEqual([]);
      expect(book.at(h, 0, 'prevote')).toEqual([]);
      expect(book.at(h, 1, 'prevote').map((r) => r.hash)).toEqual([toHex(z)]);
    });
  }

  it(`randomized failover trials (${TRIALS} here; 1,000 with scripts/signer-group-trials.ts): no conflicting signature, missed slots counted`, {
    timeout: 240_000,
  }, async () => {
    const seed = Number(process.env.ZEUS_TRIALS_SEED ?? Date.now() % 100_000);
    const r = await runFailoverTrials({ cluster, trials: TRIALS, seed, log: (l) => console.log(l) });
    console.log(`failover trials: ${JSON.stringify({ ...r, conflicts: r.conflicts.length })}`);
    expect(r.conflicts, `seed ${seed}`).toEqual([]);
    expect(r.trials).toBe(TRIALS);
    expect(r.signed + r.missed).toBe(TRIALS);
    // The faults really happened, and the seat kept signing through them.
    expect(r.faults.none + r.faults.deposed + r.faults.crash).toBeGreaterThan(TRIALS / 2);
    expect(r.deposedRefusedByEtcd).toBeGreaterThan(0);
    // A trial without a fault that misses its slot (300 ms) is the machine's doing, not a failover's:
    // etcd fsyncs every write, and beside a full suite's two heavy files its answers ran late in a
    // third of those trials (34 of 106 in one run). Those are not held against the failovers; but a
    // group that misses most slots with nothing wrong is broken, however loaded the machine.
    expect(r.missedAfter.none, `seed ${seed}`).toBeLessThanOrEqual(r.faults.none / 2);
    expect(r.signed, `seed ${seed}`).toBeGreaterThan(TRIALS * 0.7 - r.missedAfter.none);
    expect(r.authorizations).toBeGreaterThanOrEqual(r.signed);
  });
});
