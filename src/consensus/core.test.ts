import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, bytesEqual, toHex } from '../crypto/index.ts';
import { blockHash } from '../ledger/block.ts';
import { certificateError, encodeSignedVote, verifyVote, VoteType } from '../ledger/commit.ts';
import { MAIN_CHAIN } from '../ledger/params.ts';
import { checkSupply } from '../ledger/supply.ts';
import { makeTx } from '../ledger/testing.ts';
import { TxKind } from '../ledger/ops/index.ts';
import { DEFAULT_TIMEOUTS, gossip, initialState, proposerIndex, step, type ConsensusConfig, type ConsensusInput } from './core.ts';
import { Harness, type Delivered } from './testing.ts';
import { candidates } from '../ledger/stores.ts';

/** Every node committed the same blocks with valid certificates and reached the same state. */
function expectAgreement(h: Harness, heights: number): void {
  const ref = h.nodes[0];
  for (const n of h.nodes) {
    expect(n.ledger.height).toBeGreaterThanOrEqual(heights);
    checkSupply(n.ledger);
  }
  for (let height = 1; height <= heights; height++) {
    const ds = h.nodes.map((n) => n.decisions.find((d) => d.height === height)!);
    for (const d of ds) {
      expect(d.hash).toBe(ds[0].hash);
      expect(certificateError(h.chain.genesis.chainId, d.certificate, ref.ledger.bookkeepersAt(height), Buffer.from(d.hash, 'hex'))).toBeUndefined();
    }
  }
  const roots = (i: number) => h.nodes[i].ledger.stateRoots().map(toHex).join();
  const atHeight = h.nodes.filter((n) => n.ledger.height === ref.ledger.height);
  for (const n of atHeight) expect(roots(n.index)).toBe(roots(0));
}

const at = (height: number, round: number) => (d: Delivered) => d.height === height && d.round === round;

describe('consensus core in an in-process network', () => {
  for (const n of [4, 7]) {
    it(`${n} bookkeepers commit heights in round 0 with identical state`, () => {
      const h = new Harness({ n, transfers: 12 });
      h.start();
      h.runToHeight(3);
      expectAgreement(h, 3);
      for (const node of h.nodes) expect(node.decisions.slice(0, 3).map((d) => d.round)).toEqual([0, 0, 0]);
      // Transfers made it into blocks.
      expect(h.mempool.length).toBeLessThan(12);
      for (let height = 1; height <= 3; height++) {
        // One proposal and a prevote and a precommit from everyone, each to every other node.
        expect(h.count((d) => d.height === height && d.type === 'proposal')).toBe(n - 1);
        expect(h.count((d) => d.height === height && d.type === 'prevote')).toBe(n * (n - 1));
        // A node that sees +2/3 precommits before casting its own decides without it.
        const precommits = h.delivered.filter((d) => d.height === height && d.type === 'precommit');
        expect(precommits.length).toBeLessThanOrEqual(n * (n - 1));
        expect(new Set(precommits.map((d) => d.from)).size).toBeGreaterThanOrEqual(Math.floor((2 * n) / 3) + 1);
        expect(h.count((d) => d.height === height && d.round > 0)).toBe(0);
        // The block was built by the height's round-0 proposer.
        const d = h.nodes[0].decisions[height - 1];
        expect(d.certificate.signers.length).toBeGreaterThanOrEqual(Math.floor((2 * n) / 3) + 1);
      }
    });
  }

  it('moves to the next proposer when the proposer is silent', () => {
    const h = new Harness({ n: 4, transfers: 4 });
    const silent = proposerIndex(1, 0, 4);
    h.filter = (d) => (d.from === silent ? 'drop' : 'deliver');
    h.start();
    h.runToHeight(3);
    expectAgreement(h, 3);
    const d1 = h.nodes[0].decisions[0];
    expect(d1.round).toBe(1);
    expect(d1.certificate.round).toBe(1);
    const next = h.nodes[proposerIndex(1, 1, 4)];
    expect(h.count((d) => at(1, 1)(d) && d.type === 'proposal' && d.from === next.index)).toBe(3);
    // The silent node's block-building turn came and went; it never reached anyone.
    expect(h.count((d) => d.from === silent)).toBe(0);
    // Later heights have live proposers and decide in round 0.
    expect(h.nodes[0].decisions.slice(1, 3).map((d) => d.round)).toEqual([0, 0]);
  });

  it("commits in round 0 when one node's prevotes are lost", () => {
    const h = new Harness({ n: 4 });
    h.filter = (d) => (d.from === 3 && d.msg.kind === 'vote' && d.msg.vote.vote.type === VoteType.Prevote ? 'drop' : 'deliver');
    h.start();
    h.runToHeight(2);
    expectAgreement(h, 2);
    for (const node of h.nodes) expect(node.decisions.slice(0, 2).map((d) => d.round)).toEqual([0, 0]);
    expect(h.count((d) => d.height === 1 && d.type === 'prevote')).toBe(3 * 3);
    expect(h.count((d) => d.height === 1 && d.type === 'prevote' && d.from === 3)).toBe(0);
    expect(h.count((d) => d.height === 1 && d.type === 'precommit')).toBe(4 * 3);
  });

  /**
   * Round 0: node 3 never gets the proposal and prevotes nil; node 0 sees the +2/3 prevotes for v
   * and locks on it, but nodes 1 and 2 miss node 0's prevote, so they precommit nil and nobody
   * decides. Round 1's proposer (node 2) has no valid value and proposes a new block v'.
   */
  function lockScenario(config?: Partial<ConsensusConfig>): { h: Harness; v: string; vPrime: string; round1Prevote: Delivered } {
    const h = new Harness({ n: 4, config });
    h.filter = (d) => {
      const m = d.msg;
      if (m.kind === 'proposal') return m.sp.proposal.height === 1n && m.sp.proposal.round === 0 && d.to === 3 ? 'drop' : 'deliver';
      const v = m.vote.vote;
      if (v.height === 1n && v.round === 0 && v.type === VoteType.Prevote && d.from === 0 && (d.to === 1 || d.to === 2)) return 'drop';
      return 'deliver';
    };
    h.start();
    h.runToHeight(1);
    const v = h.delivered.find((d) => at(1, 0)(d) && d.type === 'proposal')!.hash;
    const vPrime = h.delivered.find((d) => at(1, 1)(d) && d.type === 'proposal')!.hash;
    const round1Prevote = h.delivered.find((d) => at(1, 1)(d) && d.type === 'prevote' && d.from === 0)!;
    return { h, v, vPrime, round1Prevote };
  }

  it('a locked bookkeeper does not prevote a different value', () => {
    const { h, v, vPrime, round1Prevote } = lockScenario();
    expect(h.delivered.find((d) => at(1, 0)(d) && d.type === 'precommit' && d.from === 0)!.hash).toBe(v);
    expect(vPrime).not.toBe(v);
    expect(round1Prevote.hash).toBe(''); // nil: node 0 is locked on v
    // The others unlock nobody and decide v' in round 1 with node 0 following the new polka.
    expectAgreement(h, 1);
    expect(h.nodes[0].decisions[0]).toMatchObject({ round: 1, hash: vPrime });
  });

  it('the lock check can fail: a core that ignores locks prevotes the other value', () => {
    const { round1Prevote, vPrime } = lockScenario({ faults: { ignoreLocks: true } });
    expect(round1Prevote.hash).toBe(vPrime);
  });

  it('does not commit a block the ledger rejects', () => {
    const h = new Harness({ n: 4, transfers: 4 });
    const bad = proposerIndex(1, 0, 4);
    let badHash = '';
    h.tamper = (node, block) => {
      if (node.index !== bad || block.header.height !== 1n) return block;
      const segments = block.header.segments.map((s, i) => (i === 1 ? { ...s, stateRoot: new Uint8Array(32).fill(7) } : s));
      const tampered = { ...block, header: { ...block.header, segments } };
      badHash = toHex(blockHash(tampered.header));
      return tampered;
    };
    h.start();
    h.runToHeight(2);
    expectAgreement(h, 2);
    expect(badHash).not.toBe('');
    const d1 = h.nodes[0].decisions[0];
    expect(d1.hash).not.toBe(badHash);
    expect(d1.round).toBe(1);
    // Everyone, the proposer included, prevoted nil on the invalid block.
    const prevotes0 = h.delivered.filter((d) => at(1, 0)(d) && d.type === 'prevote');
    expect(prevotes0.length).toBe(12);
    expect(prevotes0.every((d) => d.hash === '')).toBe(true);
  });

  it('reports an equivocating voter with evidence the ledger accepts', () => {
    const h = new Harness({ n: 4 });
    const cheat = 3;
    h.extraVotes = (node, sv) => {
      const v = sv.vote;
      if (node.index !== cheat || v.height !== 1n || v.round !== 0 || v.type !== VoteType.Prevote) return [];
      return [{ ...v, blockHash: v.blockHash.length === 0 ? new Uint8Array(32).fill(9) : new Uint8Array(0) }];
    };
    h.start();
    h.runToHeight(4);
    expectAgreement(h, 4);
    const cheatKey = h.nodes[cheat].key.publicKey;
    for (const node of h.nodes.filter((n) => n.index !== cheat)) {
      expect(node.evidence.length).toBe(1);
      const { first, second } = node.evidence[0];
      expect(bytesEqual(first.vote.validator, cheatKey) && bytesEqual(second.vote.validator, cheatKey)).toBe(true);
      expect([first.vote.height, first.vote.round, first.vote.type]).toEqual([second.vote.height, second.vote.round, second.vote.type]);
      expect(bytesEqual(first.vote.blockHash, second.vote.blockHash)).toBe(false);
      expect(verifyVote(first) && verifyVote(second)).toBe(true);
    }
    expect(h.nodes[cheat].evidence.length).toBe(0);
    // Submitted as a transaction, the evidence slashes the cheater on every node's ledger.
    const { first, second } = h.nodes[0].evidence[0];
    h.mempool.push(makeTx(h.chain, 'alice', TxKind.SubmitEvidence, { first: encodeSignedVote(first), second: encodeSignedVote(second) }));
    h.runToHeight(6); // height 5's block may have been built already
    const cand = toHex(addressFromPublicKey(cheatKey));
    for (const node of h.nodes) expect(candidates.get(node.ledger.chains[MAIN_CHAIN], cand)?.slashed).toBe(true);
    expectAgreement(h, 6);
  });

  it('decides in a past round when its precommits arrive late', () => {
    const h = new Harness({ n: 4 });
    // Round 0: node 3 gets the proposal late (it prevotes nil); every node misses one precommit
    // for v until all have moved on to round 1.
    const late: Record<number, number> = { 0: 1, 1: 2, 2: 0, 3: 0 };
    h.filter = (d) => {
      const m = d.msg;
      if (m.kind === 'proposal') return m.sp.proposal.height === 1n && m.sp.proposal.round === 0 && d.to === 3 ? 'hold' : 'deliver';
      const v = m.vote.vote;
      return v.height === 1n && v.round === 0 && v.type === VoteType.Precommit && late[d.to] === d.from ? 'hold' : 'deliver';
    };
    h.start();
    h.run(() => h.nodes.every((n) => n.state.round >= 1));
    expect(h.nodes.every((n) => n.decisions.length === 0)).toBe(true);
    h.filter = () => 'deliver';
    h.release();
    h.runToHeight(2);
    expectAgreement(h, 2);
    const v = h.delivered.find((d) => at(1, 0)(d) && d.type === 'proposal')!.hash;
    for (const node of h.nodes) expect(node.decisions[0]).toMatchObject({ height: 1, round: 0, atRound: 1, hash: v });
  });
});

describe('consensus core, step by step', () => {
  const config: ConsensusConfig = { chainId: 'c', timeouts: DEFAULT_TIMEOUTS };
  const keys = Array.from({ length: 4 }, (_, i) => new Uint8Array(32).fill(i + 1));
  const vote = (type: VoteType, i: number, round: number, hash: Uint8Array) => ({
    vote: { chainId: 'c', type, height: 1n, round, blockHash: hash, validator: keys[i] },
    signature: new Uint8Array(64).fill(i),
  });
  const run = (inputs: ConsensusInput[]) => {
    let s = initialState(config);
    const outs = [];
    for (const i of inputs) {
      const r = step(s, i);
      s = r.state;
      outs.push(...r.outputs);
    }
    return { s, outs };
  };
  const v = new Uint8Array(32).fill(0xaa);

  it('leaves earlier states untouched', () => {
    const s0 = step(initialState(config), { kind: 'start', height: 1, validators: keys, self: 0 }).state;
    const s1 = step(s0, { kind: 'vote', vote: vote(VoteType.Prevote, 2, 0, v) }).state;
    expect(s0.rounds.get(0)?.prevotes.first.size ?? 0).toBe(0);
    expect(s1.rounds.get(0)!.prevotes.first.size).toBe(1);
  });

  it('ignores duplicates, strangers and other heights; skips on f+1 votes of a higher round', () => {
    const stranger = { ...vote(VoteType.Prevote, 1, 0, v), vote: { ...vote(VoteType.Prevote, 1, 0, v).vote, validator: new Uint8Array(32).fill(99) } };
    const other = { ...vote(VoteType.Prevote, 1, 0, v), vote: { ...vote(VoteType.Prevote, 1, 0, v).vote, height: 2n } };
    const { s } = run([
      { kind: 'start', height: 1, validators: keys, self: 0 },
      { kind: 'vote', vote: vote(VoteType.Prevote, 1, 0, v) },
      { kind: 'vote', vote: vote(VoteType.Prevote, 1, 0, v) },
      { kind: 'vote', vote: stranger },
      { kind: 'vote', vote: other },
    ]);
    expect(s.rounds.get(0)!.prevotes.first.size).toBe(1);
    const skipped = run([
      { kind: 'start', height: 1, validators: keys, self: 0 },
      { kind: 'vote', vote: vote(VoteType.Prevote, 1, 5, v) },
      { kind: 'vote', vote: vote(VoteType.Precommit, 2, 5, new Uint8Array(0)) },
    ]);
    expect(skipped.s.round).toBe(5);
    expect(skipped.outs.filter((o) => o.kind === 'schedule' && o.round === 5)).toHaveLength(1);
  });

  it('schedules timeouts that grow with the round and gossips what a peer may have missed', () => {
    const { s, outs } = run([
      { kind: 'start', height: 1, validators: keys, self: 3 },
      { kind: 'timeout', step: 'propose', height: 1, round: 0 },
      ...[0, 1, 2].map((i): ConsensusInput => ({ kind: 'vote', vote: vote(VoteType.Prevote, i, 0, new Uint8Array(0)) })),
      ...[0, 1, 2].map((i): ConsensusInput => ({ kind: 'vote', vote: vote(VoteType.Precommit, i, 0, new Uint8Array(0)) })),
      { kind: 'timeout', step: 'precommit', height: 1, round: 0 },
    ]);
    expect(s.round).toBe(1);
    const delays = outs.filter((o) => o.kind === 'schedule' && o.timeout === 'propose').map((o) => (o.kind === 'schedule' ? o.delayMs : 0));
    expect(delays).toEqual([DEFAULT_TIMEOUTS.propose.baseMs, DEFAULT_TIMEOUTS.propose.baseMs + DEFAULT_TIMEOUTS.propose.deltaMs]);
    // Our nil prevote and precommit of round 0 were cast once each.
    expect(outs.filter((o) => o.kind === 'castVote')).toHaveLength(2);
    expect(gossip(s).votes).toHaveLength(6);
  });

  it('tells why it moved to each step and round', () => {
    const nilVote = (type: VoteType, i: number, round: number): ConsensusInput => ({ kind: 'vote', vote: vote(type, i, round, new Uint8Array(0)) });
    const { outs } = run([
      { kind: 'start', height: 1, validators: keys, self: 3 },
      // Round 0: no proposal in time, +2/3 prevote nil (a nil polka), +2/3 precommit nil, timeout.
      { kind: 'timeout', step: 'propose', height: 1, round: 0 },
      // (our own votes come back to us as the host feeds them)
      ...[0, 1, 3].map((i) => nilVote(VoteType.Prevote, i, 0)),
      ...[0, 1, 2].map((i) => nilVote(VoteType.Precommit, i, 0)),
      { kind: 'timeout', step: 'precommit', height: 1, round: 0 },
      // Round 1: the proposal of v, prevoted by us and two others: a polka.
      { kind: 'proposal', proposal: { height: 1, round: 1, blockHash: v, validRound: -1, proposer: keys[proposerIndex(1, 1, 4)], valid: true } },
      ...[0, 1, 3].map((i): ConsensusInput => ({ kind: 'vote', vote: vote(VoteType.Prevote, i, 1, v) })),
      // f+1 validators are in round 4 already: we join them.
      nilVote(VoteType.Prevote, 0, 4),
      nilVote(VoteType.Prevote, 1, 4),
    ]);
    const moves = outs.flatMap((o) => (o.kind === 'transition' ? [`${o.from.round}/${o.from.step}>${o.round}/${o.step} ${o.reason}`] : []));
    expect(moves).toEqual([
      '0/propose>0/propose start',
      '0/propose>0/prevote timeoutPropose',
      '0/prevote>0/precommit nilPolka',
      '0/precommit>1/propose timeoutPrecommit',
      '1/propose>1/prevote proposal',
      '1/prevote>1/precommit polka',
      '1/precommit>4/propose higherRound',
    ]);
    const restored = run([
      { kind: 'start', height: 1, validators: keys, self: 1 },
      { kind: 'vote', vote: vote(VoteType.Prevote, 1, 2, v) },
    ]);
    expect(restored.outs.filter((o) => o.kind === 'transition').map((o) => (o.kind === 'transition' ? o.reason : ''))).toEqual(['start', 'restored']);
    // +2/3 prevotes, but split: the prevote timeout (L34) ends the step.
    const split = run([
      { kind: 'start', height: 1, validators: keys, self: 3 },
      { kind: 'timeout', step: 'propose', height: 1, round: 0 },
      { kind: 'vote', vote: vote(VoteType.Prevote, 0, 0, v) },
      nilVote(VoteType.Prevote, 1, 0),
      nilVote(VoteType.Prevote, 3, 0),
      { kind: 'timeout', step: 'prevote', height: 1, round: 0 },
    ]);
    expect(split.outs.filter((o) => o.kind === 'transition').map((o) => (o.kind === 'transition' ? o.reason : ''))).toEqual([
      'start',
      'timeoutPropose',
      'timeoutPrevote',
    ]);
  });

  it('recovers its round and lock from its own votes after a restart', () => {
    const { s, outs } = run([
      { kind: 'start', height: 1, validators: keys, self: 1 },
      { kind: 'vote', vote: vote(VoteType.Prevote, 1, 2, v) },
      { kind: 'vote', vote: vote(VoteType.Precommit, 1, 2, v) },
    ]);
    expect(s.round).toBe(2);
    expect(s.lockedRound).toBe(2);
    expect(s.lockedValue).toBe(toHex(v));
    // Restored votes are not cast again, even when the rules would cast them.
    expect(outs.filter((o) => o.kind === 'castVote')).toHaveLength(0);
    const t = step(s, { kind: 'timeout', step: 'propose', height: 1, round: 2 });
    expect(t.outputs.filter((o) => o.kind === 'castVote')).toHaveLength(0);
    // In a later round, a fresh proposal of another block gets a nil prevote from the locked node.
    let s3 = t.state;
    for (const i of [2, 3]) s3 = step(s3, { kind: 'vote', vote: vote(VoteType.Prevote, i, 3, new Uint8Array(0)) }).state;
    expect(s3.round).toBe(3);
    const r = step(s3, {
      kind: 'proposal',
      proposal: { height: 1, round: 3, blockHash: new Uint8Array(32).fill(1), validRound: -1, proposer: keys[proposerIndex(1, 3, 4)], valid: true },
    });
    const cast = r.outputs.find((o) => o.kind === 'castVote');
    expect(cast?.kind === 'castVote' && cast.vote.blockHash.length).toBe(0);
  });
});
