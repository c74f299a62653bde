import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../../crypto/index.ts';
import { checkSupply, ledgerReader, MAIN_CHAIN, TOTAL_SUPPLY, TxKind, ZNC_UNIT, type Tx } from '../index.ts';
import { commitExecuted, makeTx, testChain, type TestChain } from '../testing.ts';
import { ProposalStatus, ProposalType, type GovTally } from './entries.ts';
import { proposalPayload, SHORT_GOVERNANCE } from './testing.ts';

// The tally against an independent model (issue 17, must-show 6): random proposals, votes (and
// changed votes), delegations and stake changes over eight accounts. The test keeps its own record
// of what the ledger accepted — stakes, proxies, votes, proposals and their vote windows — predicts
// which transactions the ledger accepts, and at the end of every vote recomputes the count and the
// outcome from that record alone (no call into the ledger's tally), then compares them with what
// the ledger recorded.

const RUNS = Number(process.env.ZEUS_PROPERTY_RUNS ?? 100);
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const UNIT = ZNC_UNIT;
const MIN_DEPOSIT = BigInt(SHORT_GOVERNANCE.minDeposit);

type Action =
  | { kind: 'stake'; who: number; amount: bigint }
  | { kind: 'unstake'; who: number; share: number; extra: bigint }
  | { kind: 'delegate'; who: number; proxy: number }
  | { kind: 'propose'; who: number; short: boolean }
  | { kind: 'vote'; who: number; proposal: number; option: number };

const who = fc.nat({ max: NAMES.length - 1 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('stake' as const), who, amount: fc.bigInt({ min: 1n, max: 2_000n * UNIT }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('unstake' as const), who, share: fc.integer({ min: 1, max: 110 }), extra: fc.bigInt({ min: 0n, max: 1_000n }) }),
  },
  // proxy NAMES.length: none; the sender itself sometimes (refused).
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delegate' as const), who, proxy: fc.nat({ max: NAMES.length }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('propose' as const), who, short: fc.boolean() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('vote' as const),
      who,
      proposal: fc.nat({ max: 7 }),
      // 0 and 5 are no option (refused).
      option: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 5) }),
    }),
  },
);
const governanceArb: fc.Arbitrary<Governance> = fc.record({
  votingPeriodBlocks: fc.integer({ min: 2, max: 6 }),
  quorumBp: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(1, 3_340, 5_000, 10_000)),
  thresholdBp: fc.oneof(fc.integer({ min: 5_000, max: 10_000 }), fc.constantFrom(5_000, 6_667)),
  vetoBp: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(1, 3_340, 10_000)),
});
const runArb = fc.record({
  governance: governanceArb,
  heights: fc.array(fc.array(actionArb, { maxLength: 8 }), { minLength: 8, maxLength: 30 }),
});

/** What the test knows of a proposal, from the transactions the ledger accepted. */
interface ModelProposal {
  id: bigint;
  tx: string;
  /** Heights votes land in: [start, end); none when the deposit stayed short. */
  start: number;
  end: number;
  votes: Map<string, number>;
}

/** The model's count: every staker weighs once, for its own vote, else its proxy's, else not at all. */
function modelTally(staked: Map<string, bigint>, proxy: Map<string, string>, votes: Map<string, number>): GovTally {
  const t = { yes: 0n, no: 0n, abstain: 0n, veto: 0n, bonded: 0n };
  for (const [name, amount] of staked) {
    if (amount === 0n) continue;
    t.bonded += amount;
    const p = proxy.get(name);
    const option = votes.get(name) ?? (p === undefined ? undefined : votes.get(p));
    if (option === 1) t.yes += amount;
    if (option === 2) t.no += amount;
    if (option === 3) t.abstain += amount;
    if (option === 4) t.veto += amount;
  }
  return t;
}

type Outcome = 'passed' | 'quorum' | 'vetoed' | 'rejected';

/**
 * The rule as issue 17 states it: quorum (share of bonded stake that voted at all), then veto
 * (share of veto among all votes, strictly over), then threshold (share of yes among yes, no and
 * veto, strictly over). Written as fractions compared by cross-multiplying.
 */
function modelOutcome(t: GovTally, g: { quorumBp: number; thresholdBp: number; vetoBp: number }): Outcome {
  const voted = t.yes + t.no + t.abstain + t.veto;
  const atLeast = (num: bigint, den: bigint, bp: number): boolean => den > 0n && num * 10_000n >= BigInt(bp) * den;
  const over = (num: bigint, den: bigint, bp: number): boolean => den > 0n && num * 10_000n > BigInt(bp) * den;
  if (!atLeast(voted, t.bonded, g.quorumBp)) return 'quorum';
  if (over(t.veto, voted, g.vetoBp)) return 'vetoed';
  return over(t.yes, t.yes + t.no + t.veto, g.thresholdBp) ? 'passed' : 'rejected';
}

const seen = new Map<string, number>();
const bump = (k: string): void => void seen.set(k, (seen.get(k) ?? 0) + 1);

type Governance = { votingPeriodBlocks: number; quorumBp: number; thresholdBp: number; vetoBp: number };

function run(governance: Governance, heights: Action[][]): void {
  const g = { ...SHORT_GOVERNANCE, ...governance };
  const t: TestChain = testChain({ devAccounts: NAMES, params: { governance: g, blockReward: '0', workerDividendPerBlock: '0' } });
  const addr = (n: string): Uint8Array => addressFromPublicKey(t.keys[n].publicKey);

  const staked = new Map<string, bigint>();
  const proxy = new Map<string, string>();
  const proposals: ModelProposal[] = [];
  let nextId = 1n;
  let landingStakes: [string, bigint][] = [];
  let landingProposals: { tx: Tx; short: boolean }[] = [];
  const V = g.votingPeriodBlocks;
  // Run past the last proposal's end, so that every vote is counted.
  const plan = [...heights, ...Array.from({ length: V + 2 }, () => [] as Action[])];

  for (const actions of plan) {
    const h = t.ledger.height + 1;
    // Receipts of the previous height land first: stakes, then proposals in the order of their chains.
    for (const [n, a] of landingStakes) staked.set(n, (staked.get(n) ?? 0n) + a);
    landingStakes = [];
    landingProposals.sort((x, y) => x.tx.chain - y.tx.chain);
    for (const { tx, short } of landingProposals) {
      proposals.push({ id: nextId++, tx: tx.hashHex, start: short ? 0 : h, end: short ? 0 : h + V, votes: new Map() });
    }
    landingProposals = [];
    // Votes ending at this height are counted before its transactions, from the model as it stands.
    const counted = proposals.filter((p) => p.end === h).map((p) => ({ p, tally: modelTally(staked, proxy, p.votes) }));

    const exec = t.ledger.begin(t.ledger.time + 1000);
    const txs: Tx[] = [];
    for (const a of actions) {
      const name = NAMES[a.who];
      let tx: Tx;
      let accept: boolean;
      let apply = (): void => {};
      switch (a.kind) {
        case 'stake':
          tx = makeTx(t, name, TxKind.Stake, { amount: a.amount });
          accept = true;
          apply = () => landingStakes.push([name, a.amount]);
          break;
        case 'unstake': {
          const s = staked.get(name) ?? 0n;
          const amount = (s * BigInt(a.share)) / 100n + a.extra || 1n;
          tx = makeTx(t, name, TxKind.Unstake, { amount });
          accept = amount <= s;
          apply = () => staked.set(name, s - amount);
          break;
        }
        case 'delegate': {
          const p = a.proxy === NAMES.length ? undefined : NAMES[a.proxy];
          tx = makeTx(t, name, TxKind.Delegate, { proxy: p === undefined ? new Uint8Array(0) : addr(p) });
          accept = p !== name;
          apply = () => (p === undefined ? proxy.delete(name) : proxy.set(name, p));
          break;
        }
        case 'propose': {
          const deposit = a.short ? MIN_DEPOSIT / 2n : MIN_DEPOSIT;
          tx = makeTx(t, name, TxKind.GovPropose, proposalPayload({ type: ProposalType.Text, title: `p${h}`, deposit }));
          accept = true;
          const thisTx = tx;
          apply = () => landingProposals.push({ tx: thisTx, short: a.short });
          break;
        }
        case 'vote': {
          // Mostly a proposal whose vote is open; now and then any, or one that does not exist.
          const open = proposals.filter((q) => q.start <= h && h < q.end);
          const p = open.length > 0 && a.proposal < 6 ? open[a.proposal % open.length] : proposals[a.proposal % (proposals.length + 1)];
          const id = p?.id ?? nextId + 5n;
          tx = makeTx(t, name, TxKind.GovVote, { proposal: id, option: a.option });
          accept = p !== undefined && p.start <= h && h < p.end && a.option >= 1 && a.option <= 4;
          apply = () => {
            if (p?.votes.has(name)) bump('changed vote');
            p?.votes.set(name, a.option);
          };
          break;
        }
      }
      const err = exec.tryApply(tx);
      expect(err === null, `${a.kind} by ${name} at ${h}: ${err?.code} ${err?.message}`).toBe(accept);
      if (err) t.nonces.set(`${name}/${tx.chain}`, tx.nonce);
      else {
        apply();
        txs.push(tx);
      }
    }
    commitExecuted(t, exec.finish());
    expect(checkSupply(t.ledger).total).toBe(TOTAL_SUPPLY);

    const reader = ledgerReader(t.ledger);
    for (const p of proposals.filter((q) => q.start === h)) {
      // The ledger numbered the proposals as the model did, and opened each vote when the model did.
      const made = reader.govProposal(p.id)!;
      expect(toHex(made.tx)).toBe(p.tx);
      expect([made.status, made.votingStart, made.votingEnd]).toEqual([ProposalStatus.Voting, BigInt(p.start), BigInt(p.end)]);
    }
    for (const { p, tally } of counted) {
      const made = reader.govProposal(p.id)!;
      expect(made.tally).toEqual(tally);
      const outcome = modelOutcome(tally, g);
      bump(outcome);
      const status = { passed: ProposalStatus.Passed, quorum: ProposalStatus.Rejected, rejected: ProposalStatus.Rejected, vetoed: ProposalStatus.Vetoed }[
        outcome
      ];
      expect(made.status).toBe(status);
      if (outcome === 'quorum') expect(made.note).toBe('quorum not reached');
      // Whose weight followed a proxy, whose its own vote against its proxy's.
      for (const [name, s] of staked) {
        if (s === 0n) continue;
        const px = proxy.get(name);
        if (!p.votes.has(name) && px !== undefined && p.votes.has(px)) bump('delegated weight counted');
        if (p.votes.has(name) && px !== undefined && p.votes.has(px) && p.votes.get(px) !== p.votes.get(name)) bump('delegator against its proxy');
      }
    }
  }
  expect(proposals.every((p) => p.end === 0 || p.end <= t.ledger.height)).toBe(true);
  expect(t.ledger.chains[MAIN_CHAIN]).toBeDefined();
}

describe('governance tally against an independent model', () => {
  it(
    'every vote: the recorded tally and outcome equal the model’s, for random proposals, votes, delegations and stake changes',
    () => {
      fc.assert(
        fc.property(runArb, ({ governance, heights }) => run(governance, heights)),
        { numRuns: RUNS },
      );
      if (process.env.ZEUS_PROPERTY_STATS) console.log(Object.fromEntries(seen));
      // Not vacuous: every outcome and every way a weight is counted happened (summed over runs).
      for (const k of ['passed', 'quorum', 'vetoed', 'rejected', 'changed vote', 'delegated weight counted', 'delegator against its proxy']) {
        expect(seen.get(k) ?? 0, k).toBeGreaterThan(0);
      }
    },
    Math.max(60_000, RUNS * 1000),
  );
});
