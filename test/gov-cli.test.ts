import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tx, ZeusClient, ZNC_UNIT, type EventSubscription, type GovNodeEvent, type GovParamsAnswer, type ProposalAnswer } from '../src/sdk/index.ts';
import { api, loadDevKeys, nodeEnv, waitFor, zeus as zeusIn, zeusAsync, type CliResult, type NamedKey } from './helpers/processes.ts';

// Governance through its surfaces against a real devnet (one solo bookkeeper, the devnet's short
// governance: a 30-block vote, a change in effect 5 blocks after it, 1,000 ZNC to open a vote):
// a param-change proposed with `zeus gov propose`, opened by `zeus gov deposit`, listed and shown
// by the API and the CLI, voted on with a delegator splitting from its proxy while the live tally
// follows, ended and carried out, with the `gov` events on /ws; and bad input refused clearly.

const dir = mkdtempSync(join(tmpdir(), 'zeus-gov-cli-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
let url: string;
let client: ZeusClient;
let keys: Record<string, NamedKey>;
let events: EventSubscription<'gov'>;
const seen: GovNodeEvent[] = [];

/** `zeus --home <devnet node0> …` without blocking this process (its event stream keeps reading). */
const zeus = (...args: string[]): Promise<CliResult> => zeusAsync(['--home', home, ...args], nodeEnv(), 90_000);
const json = <T>(r: CliResult): T => {
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  return JSON.parse(r.out) as T;
};
const base = (zncs: bigint): string => (zncs * ZNC_UNIT).toString();

beforeAll(async () => {
  const r = zeusIn(join(dir, 'unused'), 'devnet', 'start', '--dir', devnet, '--validators', '1', '--block-time', '500');
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
  client = new ZeusClient(url);
  keys = loadDevKeys(home, ['alice', 'bob', 'carol']);
  events = client.subscribe({ events: ['gov'], onEvent: (e) => seen.push(e) });
  await events.ready;
}, 120_000);

afterAll(() => {
  events?.close();
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  rmSync(dir, { recursive: true, force: true });
});

describe('zeus gov and /gov against a devnet', () => {
  it('refuses bad input with where to look', async () => {
    const unknown = await zeus('gov', 'propose', '--from', 'carol', '--type', 'param-change', '--title', 't', '--set', 'market.noSuchThing=5');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('"market.noSuchThing" is not a parameter governance can change: `zeus gov params` lists them');
    const low = await zeus('gov', 'propose', '--from', 'carol', '--type', 'param-change', '--title', 't', '--set', 'bookkeeperSeats=3');
    expect(low.err).toContain('bookkeeperSeats must be between 4 and 200; 3 is not');
    const stray = await zeus('gov', 'propose', '--from', 'carol', '--type', 'text', '--title', 't', '--upgrade-name', 'v2');
    expect(stray.err).toContain('--upgrade-name does not go with --type text');
    const option = await zeus('gov', 'vote', '1', 'maybe', '--from', 'alice');
    expect(option.err).toContain('the vote is one of yes, no, abstain, veto, got "maybe"');
    const missing = await zeus('--json', 'gov', 'show', '77');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toEqual({
      error: { code: 'UNKNOWN_PROPOSAL', message: 'there is no governance proposal 77 (GET /gov/proposals lists them)' },
    });
    expect((await zeus('gov', 'tally', 'abc')).err).toContain('"abc" is not a proposal id');
    // Refused by the ledger at submission: no such proposal to vote on.
    const novote = await zeus('--json', 'gov', 'vote', '77', 'yes', '--from', 'alice');
    expect(JSON.parse(novote.out).error.code).toBe('UNKNOWN_PROPOSAL');

    expect(await api(url, 'GET', '/gov/proposals/abc')).toMatchObject({ status: 400, json: { error: { code: 'INVALID_PROPOSAL_ID' } } });
    expect(await api(url, 'GET', '/gov/proposals/77')).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_PROPOSAL' } } });
    const doc = (await api<{ paths: Record<string, unknown> }>(url, 'GET', '/openapi.json')).json;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/gov/proposals', '/gov/proposals/{id}', '/gov/params']));
  }, 60_000);

  it('proposes, deposits, votes with a delegator against its proxy, and carries out a param-change', async () => {
    const params = json<GovParamsAnswer>(await zeus('--json', 'gov', 'params'));
    expect(params.params).toHaveLength(39);
    const bond = params.params.find((p) => p.name === 'market.minWorkerBond')!;
    expect(bond).toMatchObject({ type: 'amount', changedBy: null, value: bond.genesis });
    expect(params.params.find((p) => p.name === 'governance.minDeposit')!.value).toBe(base(1000n));
    const newBond = (BigInt(bond.value) * 2n).toString();

    // Alice and Bob stake; Bob lets Alice vote for him.
    await client.execute(keys.alice, Tx.stake(1000n * ZNC_UNIT));
    await client.execute(keys.bob, Tx.stake(600n * ZNC_UNIT));
    await client.execute(keys.bob, Tx.delegate(keys.alice.address));
    await waitFor(async () => (await client.account(keys.bob.address)).staked === base(600n), 10_000, "bob's stake on main");

    // 400 ZNC of the 1,000 needed: the proposal waits in its deposit period.
    const proposed = json<{ id: string; hash: string; status: string; proposal: ProposalAnswer }>(
      await zeus(
        '--json',
        'gov',
        'propose',
        '--from',
        'carol',
        '--type',
        'param-change',
        '--title',
        'Double the worker bond',
        '--description',
        'More at stake per worker.',
        '--set',
        `market.minWorkerBond=${newBond}`,
        '--deposit',
        '400',
      ),
    );
    expect(proposed.status).toBe('committed');
    const id = proposed.id;
    expect(proposed.proposal).toMatchObject({ id, status: 'deposit', deposit: base(400n), tx: proposed.hash, proposer: keys.carol.address, tally: null });
    expect(proposed.proposal.changes).toEqual([{ name: 'market.minWorkerBond', value: newBond, current: bond.value }]);

    const listed = (await client.govProposals()).proposals.find((p) => p.id === id);
    expect(listed).toMatchObject({ type: 'param-change', title: 'Double the worker bond', status: 'deposit', votingStart: null });
    const human = await zeus('gov', 'list');
    expect(human.out).toMatch(new RegExp(`#${id}\\s+deposit\\s+param-change\\s+"Double the worker bond"\\s+deposit 400 ZNC`));

    // 600 ZNC more (the command line takes ZNC) opens the vote.
    const dep = await zeus('gov', 'deposit', id, '--amount', '600', '--from', 'carol', '--wait');
    expect(dep.code, dep.err).toBe(0);
    await waitFor(async () => (await client.govProposal(id)).status === 'voting', 10_000, 'the vote to open');

    const aliceVote = await zeus('gov', 'vote', id, 'yes', '--from', 'alice', '--wait');
    expect(aliceVote.code, aliceVote.err).toBe(0);
    let p = await client.govProposal(id);
    expect(p.tally).toMatchObject({ final: false, yes: base(1600n), no: '0', voted: base(1600n), outcome: 'passed' });
    expect(p.tally!.weights).toEqual(
      expect.arrayContaining([
        { voter: keys.alice.address, weight: base(1000n), option: 'yes' },
        { voter: keys.bob.address, weight: base(600n), option: 'yes', via: keys.alice.address },
      ]),
    );
    const tallyText = await zeus('gov', 'tally', id);
    expect(tallyText.out).toContain('live count: if the vote ended now: passed');
    expect(tallyText.out).toMatch(/bob \(znc1\w+\) 600 ZNC yes \(following proxy alice \(znc1\w+\)\)/);

    // Bob votes no himself: his own vote overrides his proxy's, for his own weight.
    await client.execute(keys.bob, Tx.govVote({ proposal: id, option: 'no' }));
    p = await client.govProposal(id);
    expect(p.status).toBe('voting');
    expect(p.tally).toMatchObject({ yes: base(1000n), no: base(600n), threshold: { bp: 5000, yesShareBp: 6250, met: true }, outcome: 'passed' });
    expect(p.tally!.weights).toContainEqual({ voter: keys.bob.address, weight: base(600n), option: 'no' });
    expect(p.votes).toEqual(expect.arrayContaining([{ voter: keys.bob.address, option: 'no' }]));
    const shown = json<ProposalAnswer>(await zeus('--json', 'gov', 'show', id));
    expect(shown.tally?.no).toBe(base(600n));

    // The vote ends as the live tally said, and the change takes effect 5 blocks later.
    await waitFor(async () => (await client.govProposal(id)).status === 'executed', 30_000, 'the change to take effect', 250);
    p = await client.govProposal(id);
    expect(p.tally).toMatchObject({ final: true, yes: base(1000n), no: base(600n), outcome: 'passed', weights: null });
    expect(p.deposits).toEqual([]);
    expect((await client.marketParams()).minWorkerBond).toBe(newBond);
    const after = json<GovParamsAnswer>(await zeus('--json', 'gov', 'params'));
    expect(after.params.find((x) => x.name === 'market.minWorkerBond')).toMatchObject({ value: newBond, genesis: bond.value, changedBy: id });

    const mine = seen.filter((e) => e.proposal === id);
    expect(mine.map((e) => e.kind)).toEqual(['submitted', 'vote-opened', 'vote-ended', 'param-changed']);
    expect(mine[2]).toMatchObject({ outcome: 'passed', height: p.votingEnd });
    expect(mine[3]).toMatchObject({ height: p.executeAt, status: 'executed' });
  }, 120_000);
});
