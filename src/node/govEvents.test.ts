import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress } from '../crypto/index.ts';
import { govParamsView, proposalsView, proposalView } from '../api/gov.ts';
import { ledgerReader, ProposalType, TxKind, VoteOption, ZNC_UNIT } from '../ledger/index.ts';
import { makeTx, produce, testChain } from '../ledger/testing.ts';
import { GovWatch } from './govEvents.ts';
import type { GovNodeEvent } from '../sdk/index.ts';

// Governance as the API shows it and the node announces it, over a ledger driven directly: a
// param-change proposal from submission to effect, with a delegator voting against its proxy.

const governance = {
  minDeposit: (1_000n * ZNC_UNIT).toString(),
  depositPeriodBlocks: 20,
  votingPeriodBlocks: 6,
  quorumBp: 1,
  thresholdBp: 5_000,
  vetoBp: 3_334,
  executionDelayBlocks: 2,
};

describe('governance views and events', () => {
  it('follow a param-change from submission to effect, with a delegator split from its proxy', () => {
    const t = testChain({ params: { governance } });
    const r = ledgerReader(t.ledger);
    const watch = new GovWatch(r);
    const events: GovNodeEvent[] = [];
    const step = (txs: Parameters<typeof produce>[1] = []): void => {
      const rejected = produce(t, txs);
      expect([...rejected.values()].map((e) => e.message)).toEqual([]);
      events.push(...watch.changes(r));
    };
    const addr = (n: string): string => encodeAddress(addressFromPublicKey(t.keys[n].publicKey));

    step([makeTx(t, 'alice', TxKind.Stake, { amount: 500n * ZNC_UNIT }), makeTx(t, 'bob', TxKind.Stake, { amount: 300n * ZNC_UNIT })]);
    step([makeTx(t, 'bob', TxKind.Delegate, { proxy: addressFromPublicKey(t.keys.alice.publicKey) })]);
    const bond = '2000000000';
    const propose = makeTx(t, 'carol', TxKind.GovPropose, {
      type: ProposalType.ParamChange,
      title: 'Raise the worker bond',
      description: 'More at stake per worker.',
      changes: [{ name: 'market.minWorkerBond', value: bond }],
      recipient: new Uint8Array(0),
      amount: 0n,
      upgradeName: '',
      upgradeHeight: 0n,
      upgradeInfo: '',
      deposit: 400n * ZNC_UNIT,
    });
    step([propose]);
    // The proposal is made on main by receipt, a height after its transaction.
    expect(proposalsView(r).proposals).toEqual([]);
    step();
    expect(events.map((e) => e.kind)).toEqual(['submitted']);
    const listed = proposalsView(r).proposals;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: '1', type: 'param-change', status: 'deposit', proposer: addr('carol'), deposit: (400n * ZNC_UNIT).toString() });
    expect(listed[0].votingStart).toBeNull();
    const before = proposalView(r, t.ledger.reserve, '1');
    expect(before.tally).toBeNull();
    expect(before.tx).toBe(propose.hashHex);
    expect(before.changes).toEqual([{ name: 'market.minWorkerBond', value: bond, current: t.ledger.params.market.minWorkerBond.toString() }]);
    expect(before.deposits).toEqual([{ depositor: addr('carol'), amount: (400n * ZNC_UNIT).toString() }]);

    step([makeTx(t, 'dave', TxKind.GovDeposit, { proposal: 1n, amount: 600n * ZNC_UNIT })]);
    step();
    expect(events.map((e) => e.kind)).toEqual(['submitted', 'vote-opened']);
    expect(proposalView(r, t.ledger.reserve, '1').status).toBe('voting');

    // Alice votes yes: Bob's stake follows her; then Bob votes no himself.
    step([makeTx(t, 'alice', TxKind.GovVote, { proposal: 1n, option: VoteOption.Yes })]);
    let tally = proposalView(r, t.ledger.reserve, '1').tally!;
    expect(tally.final).toBe(false);
    expect(tally.yes).toBe((800n * ZNC_UNIT).toString());
    const byVoter = (a: { voter: string }, b: { voter: string }): number => (a.voter < b.voter ? -1 : 1);
    expect([...tally.weights!].sort(byVoter)).toEqual(
      [
        { voter: addr('alice'), weight: (500n * ZNC_UNIT).toString(), option: 'yes' },
        { voter: addr('bob'), weight: (300n * ZNC_UNIT).toString(), option: 'yes', via: addr('alice') },
      ].sort(byVoter),
    );
    step([makeTx(t, 'bob', TxKind.GovVote, { proposal: 1n, option: VoteOption.No })]);
    const shown = proposalView(r, t.ledger.reserve, '1');
    tally = shown.tally!;
    expect([tally.yes, tally.no]).toEqual([(500n * ZNC_UNIT).toString(), (300n * ZNC_UNIT).toString()]);
    expect(tally.weights!.find((w) => w.voter === addr('bob'))).toEqual({ voter: addr('bob'), weight: (300n * ZNC_UNIT).toString(), option: 'no' });
    expect(tally.threshold).toEqual({ bp: 5_000, yesShareBp: 6_250, met: true });
    expect(tally.outcome).toBe('passed');
    expect(BigInt(tally.voted)).toBe(800n * ZNC_UNIT);
    expect(tally.quorum.reached).toBe(true);
    expect(shown.votes.map((v) => v.option).sort()).toEqual(['no', 'yes']);

    while (r.govProposal(1n)!.votingEnd >= BigInt(r.height)) step();
    const ended = proposalView(r, t.ledger.reserve, '1');
    expect(ended.status).toBe('passed');
    expect(ended.tally).toMatchObject({ final: true, yes: (500n * ZNC_UNIT).toString(), no: (300n * ZNC_UNIT).toString(), outcome: 'passed', weights: null });
    expect(ended.deposits).toEqual([]);
    const voteEnded = events.find((e) => e.kind === 'vote-ended')!;
    expect(voteEnded).toMatchObject({ proposal: '1', outcome: 'passed', status: 'passed' });

    while (r.govProposal(1n)!.executeAt >= BigInt(r.height)) step();
    expect(events.map((e) => e.kind)).toEqual(['submitted', 'vote-opened', 'vote-ended', 'param-changed']);
    const changed = events[3];
    expect(changed.height).toBe(Number(r.govProposal(1n)!.executeAt));
    expect(changed.detail).toContain(`market.minWorkerBond = ${bond}`);
    expect(t.ledger.params.market.minWorkerBond).toBe(BigInt(bond));

    const params = govParamsView(r, t.ledger.genesisParams);
    const p = params.params.find((x) => x.name === 'market.minWorkerBond')!;
    expect(p).toMatchObject({ type: 'amount', value: bond, changedBy: '1', min: '1' });
    expect(p.genesis).toBe(t.ledger.genesisParams.market.minWorkerBond.toString());
    expect(params.params.find((x) => x.name === 'bookkeeperSeats')).toMatchObject({ min: '4', changedBy: null });
    expect(params.params).toHaveLength(39);
    expect(params.upgradePlan).toBeNull();

    // A watch started now (a node restarted) sees nothing new.
    expect(new GovWatch(r).changes(r)).toEqual([]);
  });

  it('refuses malformed and unknown ids', () => {
    const t = testChain();
    const r = ledgerReader(t.ledger);
    expect(() => proposalView(r, t.ledger.reserve, 'x1')).toThrow(expect.objectContaining({ status: 400, code: 'INVALID_PROPOSAL_ID' }));
    expect(() => proposalView(r, t.ledger.reserve, '18446744073709551616')).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => proposalView(r, t.ledger.reserve, '7')).toThrow(expect.objectContaining({ status: 404, code: 'UNKNOWN_PROPOSAL' }));
  });
});
