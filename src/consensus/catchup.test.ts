import { describe, expect, it } from 'vitest';
import { CATCH_UP_TIMING, CatchUp } from './catchup.ts';

// The catch-up plan alone (the simulator runs it under faults: sim/sim.test.ts). Peers a, b, c;
// we hold 9 blocks and decide height 10.

const peers = ['a', 'b', 'c'];
const { patienceMs, silentMs, backoffMs } = CATCH_UP_TIMING;

/** A plan that has answered once already (not fresh) and heard from every peer at `t`. */
function settled(t: number): CatchUp {
  const c = new CatchUp();
  const first = c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: t })!;
  c.finished(first, 'empty', t);
  for (const p of peers) c.heard(p, t);
  return c;
}

describe('catch-up plan', () => {
  it('asks the peer that showed a later height; if it does not answer within the patience, another one', () => {
    const c = settled(0);
    c.showed('a', 12, 100); // a handed over a message of height 12: it holds 10 and 11
    expect(c.behind(9, peers)).toBe(true);
    const first = c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: 200 });
    expect(first).toEqual({ peer: 'a', from: 10, hinted: true });
    // a is paused (SIGSTOP): no answer. Nothing new within the patience…
    expect(c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: 200 + patienceMs - 1 })).toBeUndefined();
    // …then another peer, while a's fetch may still answer.
    const second = c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: 200 + patienceMs })!;
    expect(second.peer).not.toBe('a');
    c.finished(second, 'blocks', 200 + patienceMs + 50);
    // Its timeout, later: a is left alone for a while.
    c.finished(first!, 'failed', 10_200);
    c.showed('a', 14, 10_300);
    const third = c.plan({ ledgerHeight: 11, stuckTicks: 0, peers, now: 10_400 })!;
    expect(third.peer).not.toBe('a');
    c.finished(third, 'empty', 10_450);
    c.heard('a', 10_200 + backoffMs);
    expect(c.plan({ ledgerHeight: 11, stuckTicks: 0, peers, now: 10_200 + backoffMs })).toMatchObject({ peer: 'a', hinted: true });
  });

  it('asks the peers that showed a later height first, one heard from lately before one that went silent', () => {
    const c = settled(0);
    c.showed('a', 12, 1_000);
    c.showed('b', 12, 1_000);
    c.heard('b', 1_000 + silentMs); // b goes on gossiping; a (paused) went quiet
    c.heard('c', 1_000 + silentMs); // c too, but it never showed a later height
    const asked: string[] = [];
    for (let i = 0; i < 3; i++) asked.push(c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: 1_000 + silentMs + i * (patienceMs + 1) })!.peer);
    expect(asked).toEqual(['b', 'a', 'c']);
  });

  it('is idle when not behind and not stuck; when stuck it asks each peer in turn', () => {
    const c = settled(0);
    expect(c.plan({ ledgerHeight: 9, stuckTicks: 1, peers, now: 10 })).toBeUndefined();
    const asked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const req = c.plan({ ledgerHeight: 9, stuckTicks: 2, peers, now: 100 + i * 100 })!;
      asked.push(req.peer);
      c.finished(req, 'empty', 100 + i * 100 + 10);
    }
    expect(new Set(asked).size).toBe(3);
  });

  it('a node that has just started asks at once, until a peer answers', () => {
    const c = new CatchUp();
    const req = c.plan({ ledgerHeight: 0, stuckTicks: 0, peers, now: 0 })!;
    expect(req.from).toBe(1);
    c.finished(req, 'failed', 10);
    const again = c.plan({ ledgerHeight: 0, stuckTicks: 0, peers, now: 20 })!;
    expect(again.peer).not.toBe(req.peer);
    c.finished(again, 'empty', 30);
    expect(c.plan({ ledgerHeight: 0, stuckTicks: 0, peers, now: 40 })).toBeUndefined();
  });

  it('reaching a height whose messages it dropped as too far ahead, it asks for its block once', () => {
    const c = settled(0);
    c.dropped(11); // a message of height 11 arrived while we decided height 9 or lower
    const req = c.plan({ ledgerHeight: 10, stuckTicks: 0, peers, now: 20 })!;
    expect(req.from).toBe(11);
    c.finished(req, 'empty', 30);
    expect(c.plan({ ledgerHeight: 10, stuckTicks: 0, peers, now: 40 + patienceMs })).toBeUndefined();
    expect(c.plan({ ledgerHeight: 11, stuckTicks: 0, peers, now: 50 + patienceMs })).toBeUndefined();
  });

  it('a peer that answers it has nothing is no longer taken for ahead', () => {
    const c = settled(0);
    c.showed('a', 11, 10); // a relayed a message of height 11 without having committed 10
    const req = c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: 20 })!;
    expect(req.peer).toBe('a');
    c.finished(req, 'empty', 30);
    expect(c.behind(9, peers)).toBe(false);
    expect(c.plan({ ledgerHeight: 9, stuckTicks: 0, peers, now: 40 })).toBeUndefined();
  });

  it('knows the highest height its connected peers showed, forgetting peers that left (readiness)', () => {
    const c = new CatchUp();
    expect(c.highestShown(peers)).toBe(0);
    c.showed('a', 12, 0);
    c.showed('b', 15, 0);
    c.showed('b', 14, 0); // an older message does not lower it
    expect(c.highestShown(peers)).toBe(15);
    expect(c.highestShown(['a', 'c'])).toBe(12); // b no longer connected
    c.gone('a');
    expect(c.highestShown(['a', 'c'])).toBe(0);
  });
});
