import type { Command } from 'commander';
import { GOVERNABLE_PARAMS, paramSpec, TxKind, ZNC_UNIT } from '../ledger/index.ts';
import {
  proposalPayload,
  voteOption,
  type GovParamAnswer,
  type GovTallyAnswer,
  type ProposalAnswer,
  type ProposalSpec,
  type ProposalStatusName,
  type ProposalTypeName,
  type VoteOptionName,
} from '../sdk/index.ts';
import { client, globalOptions, loadKey, output, resolveAddress, type GlobalOptions } from './context.ts';
import { keyNames } from './marketText.ts';
import { collect, fromOpt, parseZnc, waitOpt, znc } from './marketArgs.ts';
import { printTx, sendTx, submitTx } from './tx.ts';

// `zeus gov …`: proposals decided by staked ZNC (src/ledger/gov/). A proposal and a deposit are
// paid from the sender's home chain and reach main by receipt a height later; a vote is recorded
// on main. Amounts on the command line are ZNC (decimals allowed); JSON output and parameter
// values of type `amount` are base units (1 ZNC = 100,000,000), as the API gives them.

const TYPES: readonly ProposalTypeName[] = ['text', 'param-change', 'reserve-spend', 'upgrade'];
const OPTIONS: readonly VoteOptionName[] = ['yes', 'no', 'abstain', 'veto'];
const STATUSES: readonly ProposalStatusName[] = ['deposit', 'voting', 'passed', 'rejected', 'vetoed', 'executed', 'failed', 'expired'];

const UNITS_HELP = `
Amounts given on the command line (--deposit, --amount) are ZNC, with up to 8 decimals. With --json,
every amount printed is in base units (1 ZNC = ${ZNC_UNIT} base units), as the API gives them.`;

function proposalIdArg(v: string): string {
  if (!/^[1-9]\d{0,19}$/.test(v)) throw new Error(`"${v}" is not a proposal id: ids are whole numbers 1, 2, … (zeus gov list shows them)`);
  return v;
}

function oneOf<T extends string>(what: string, values: readonly T[], v: string): T {
  if (!(values as readonly string[]).includes(v)) throw new Error(`${what} is one of ${values.join(', ')}, got "${v}"`);
  return v as T;
}

/** `--set NAME=VALUE`, checked against the parameter's type and bounds before anything is sent. */
export function parseParamSet(text: string): { name: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--set takes NAME=VALUE (e.g. --set market.minWorkerBond=2000000000), got "${text}"`);
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  const spec = paramSpec(name);
  if (!spec)
    throw new Error(
      `"${name}" is not a parameter governance can change: \`zeus gov params\` lists them (names as the genesis file nests them, e.g. market.minWorkerBond)`,
    );
  const unit = spec.type === 'amount' ? ' base units' : spec.type === 'bp' ? ' basis points' : '';
  if (!/^(0|[1-9]\d{0,19})$/.test(value))
    throw new Error(
      `${name}: "${value}" is not a whole number; give it in the parameter's own unit (${spec.type === 'amount' ? `base units, 1 ZNC = ${ZNC_UNIT}` : spec.type === 'bp' ? 'basis points, 10000 = 100 %' : spec.about})`,
    );
  const v = BigInt(value);
  if (v < spec.min || v > spec.max) {
    const bounds = spec.type === 'amount' ? `at least ${spec.min} base units (${znc(spec.min)})` : `between ${spec.min} and ${spec.max}${unit}`;
    throw new Error(`${name} must be ${bounds}; ${value} is not`);
  }
  return { name, value };
}

interface ProposeFlags {
  from: string;
  type: string;
  title?: string;
  description?: string;
  set?: string[];
  to?: string;
  amount?: string;
  upgradeName?: string;
  upgradeHeight?: string;
  upgradeInfo?: string;
  deposit?: string;
}

/** The proposal the flags describe; refuses flags of another type and missing ones. */
function proposalSpec(g: GlobalOptions, o: ProposeFlags, deposit: bigint): ProposalSpec {
  const type = oneOf('--type', TYPES, o.type);
  if (o.title === undefined || o.title.trim() === '') throw new Error('a proposal needs --title');
  const stray = (flags: [string, unknown][]): void => {
    const given = flags.filter(([, v]) => v !== undefined).map(([f]) => f);
    if (given.length) throw new Error(`${given.join(', ')} ${given.length === 1 ? 'does' : 'do'} not go with --type ${type}`);
  };
  const base = { title: o.title, description: o.description ?? '', deposit };
  if (type !== 'param-change') stray([['--set', o.set]]);
  if (type !== 'reserve-spend')
    stray([
      ['--to', o.to],
      ['--amount', o.amount],
    ]);
  if (type !== 'upgrade')
    stray([
      ['--upgrade-name', o.upgradeName],
      ['--upgrade-height', o.upgradeHeight],
      ['--upgrade-info', o.upgradeInfo],
    ]);
  switch (type) {
    case 'text':
      return { ...base, type };
    case 'param-change': {
      if (!o.set?.length) throw new Error('a param-change proposal needs at least one --set NAME=VALUE (`zeus gov params` lists the names, units and bounds)');
      const changes = o.set.map(parseParamSet);
      const names = changes.map((c) => c.name);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice) throw new Error(`${twice} is set twice`);
      return { ...base, type, changes };
    }
    case 'reserve-spend':
      if (o.to === undefined || o.amount === undefined) throw new Error('a reserve-spend proposal needs --to ADDRESS and --amount ZNC');
      return { ...base, type, to: resolveAddress(g, o.to), amount: parseZnc(o.amount) };
    case 'upgrade': {
      if (o.upgradeName === undefined || o.upgradeHeight === undefined)
        throw new Error('an upgrade proposal needs --upgrade-name NAME and --upgrade-height H (and usually --upgrade-info, where to get the software)');
      if (!/^[1-9]\d{0,15}$/.test(o.upgradeHeight)) throw new Error(`--upgrade-height is a block height, got "${o.upgradeHeight}"`);
      return { ...base, type, name: o.upgradeName, height: BigInt(o.upgradeHeight), info: o.upgradeInfo ?? '' };
    }
  }
}

const pct = (bp: number | null): string => (bp === null ? '–' : `${(bp / 100).toFixed(2).replace(/\.?0+$/, '')} %`);

/** A count, for people: the options, quorum, threshold and veto lines, the outcome, and with `weights` who weighs what. */
export function tallyText(t: GovTallyAnswer, who: (a: string) => string, weights: boolean): string[] {
  const lines = [
    `  ${t.final ? 'final count' : 'live count'}: ${t.final ? 'outcome' : 'if the vote ended now'}: ${t.outcome}`,
    `    yes      ${znc(t.yes)}`,
    `    no       ${znc(t.no)}`,
    `    abstain  ${znc(t.abstain)}`,
    `    veto     ${znc(t.veto)}`,
    `    voted ${znc(t.voted)} of ${znc(t.bonded)} bonded; quorum ${pct(t.quorum.bp)} = ${znc(t.quorum.needed)}: ${t.quorum.reached ? 'reached' : 'not reached'}`,
    `    threshold: yes more than ${pct(t.threshold.bp)} of yes + no + veto: ${t.threshold.met ? 'met' : 'not met'} (yes ${pct(t.threshold.yesShareBp)})`,
    `    veto line: veto more than ${pct(t.vetoLine.bp)} of votes: ${t.vetoLine.over ? 'OVER' : 'not over'} (veto ${pct(t.vetoLine.vetoShareBp)})`,
  ];
  if (weights && t.weights) {
    lines.push(`    weights (${t.weights.length}):`);
    for (const w of t.weights) lines.push(`      ${who(w.voter)} ${znc(w.weight)} ${w.option}${w.via ? ` (following proxy ${who(w.via)})` : ''}`);
  }
  if (weights && !t.weights) lines.push('    (per-staker weights are shown while the vote is open; the final record keeps the sums)');
  return lines;
}

export function proposalText(p: ProposalAnswer, who: (a: string) => string): string {
  const lines = [`proposal ${p.id} (${p.type}): ${p.title}`, `  status ${p.status}${p.note ? ` — ${p.note}` : ''}`, `  proposer ${who(p.proposer)}`];
  if (p.description) lines.push(`  ${p.description.replace(/\n/g, '\n  ')}`);
  for (const c of p.changes) lines.push(`  set ${c.name} = ${c.value} (now ${c.current})`);
  if (p.recipient) lines.push(`  pay ${znc(p.amount)} from the development reserve to ${who(p.recipient)}`);
  if (p.reserveProposal)
    lines.push(
      `  reserve multisig proposal ${p.reserveProposal.id}: ${p.reserveProposal.approvals} of ${p.reserveProposal.threshold} approvals, ${p.reserveProposal.executed ? 'paid' : 'not paid yet'}`,
    );
  if (p.upgrade) lines.push(`  upgrade ${p.upgrade.name} at height ${p.upgrade.height}${p.upgrade.info ? ` (${p.upgrade.info})` : ''}`);
  lines.push(`  submitted at height ${p.submitHeight} (tx ${p.tx}); deposit ${znc(p.deposit)}, deposit period until height ${p.depositEnd}`);
  if (p.votingStart !== null) lines.push(`  vote opened at height ${p.votingStart}, counted at height ${p.votingEnd} (votes commit until the height before)`);
  if (p.executeAt !== null) lines.push(`  takes effect at height ${p.executeAt}`);
  for (const d of p.deposits) lines.push(`  deposit ${znc(d.amount)} from ${who(d.depositor)}`);
  for (const v of p.votes) lines.push(`  vote ${v.option} by ${who(v.voter)}`);
  if (p.tally) lines.push(...tallyText(p.tally, who, false));
  return lines.join('\n');
}

function paramLine(p: GovParamAnswer): string {
  const unit = (v: string): string => (p.type === 'amount' ? `${v} (${znc(v)})` : p.type === 'bp' ? `${v} (${pct(Number(v))})` : v);
  const changed = p.value !== p.genesis || p.changedBy ? `; genesis ${unit(p.genesis)}${p.changedBy ? `, changed by proposal ${p.changedBy}` : ''}` : '';
  const bounds = p.type === 'amount' ? `${p.min} and up` : `${p.min}–${p.max}`;
  return `  ${p.name.padEnd(34)} ${unit(p.value)}  [${p.type} ${bounds}] ${p.about}${changed}`;
}

export function register(program: Command): void {
  const gov = program
    .command('gov')
    .description('Governance: proposals decided by staked ZNC (parameter changes, reserve spending, upgrades, text), deposits, votes, tallies, parameters');

  gov
    .command('propose')
    .description('Open a proposal with a first deposit, wait until it is on the main chain, and print its id (its vote opens once deposits reach the minimum)')
    .requiredOption(...fromOpt)
    .requiredOption('--type <type>', `one of ${TYPES.join(', ')}`)
    .option('--title <text>', 'what it is, in a line (up to 140 characters)')
    .option('--description <text>', 'why, for the voters (up to 2000 characters)')
    .option(
      '--set <NAME=VALUE>',
      "param-change: a parameter and its new value, in the parameter's own unit as `zeus gov params` shows it (base units for amounts, basis points for shares); repeatable",
      collect,
    )
    .option('--to <address>', 'reserve-spend: who is paid (znc1… or a key name)')
    .option('--amount <ZNC>', 'reserve-spend: how much, in ZNC')
    .option('--upgrade-name <name>', 'upgrade: the name the new software knows it by (letters, digits, _ . -)')
    .option('--upgrade-height <height>', 'upgrade: the height every node stops at unless its software knows the upgrade')
    .option('--upgrade-info <text>', 'upgrade: where to get the software')
    .option('--deposit <ZNC>', 'first deposit in ZNC (default: the minimum deposit now, so the vote opens at once)')
    .addHelpText(
      'after',
      `${UNITS_HELP}

Examples:
  zeus gov propose --from alice --type param-change --title "Raise the worker bond" \\
    --set market.minWorkerBond=2000000000          # 20 ZNC, in base units
  zeus gov propose --from alice --type reserve-spend --title "Fund the docs" --to bob --amount 5000
  zeus gov propose --from alice --type upgrade --title "v2" --upgrade-name v2 --upgrade-height 5000 \\
    --upgrade-info https://example.org/zeus-v2
Parameter changes are checked against each parameter's type and bounds before anything is sent.`,
    )
    .action(async (o: ProposeFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      const c = client(g);
      // Everything that can be checked here is, before the key is opened or the node asked.
      const provisional = proposalSpec(g, o, o.deposit === undefined ? 1n : parseZnc(o.deposit));
      let deposit = provisional.deposit;
      if (o.deposit === undefined) {
        const min = (await c.govParams()).params.find((p) => p.name === 'governance.minDeposit');
        if (!min) throw new Error('the node does not show governance.minDeposit: give --deposit');
        deposit = BigInt(min.value);
      }
      if (deposit <= 0n) throw new Error('--deposit must be more than 0 ZNC');
      const spec = { ...provisional, deposit };
      const key = await loadKey(g, o.from);
      const t = await submitTx(g, key, TxKind.GovPropose, proposalPayload(spec), true, `${spec.type} proposal "${spec.title}"`);
      const id = await c.proposalOfTx(t.hash, { timeoutMs: 30_000 });
      const p = await c.govProposal(id);
      printTx(g, `${spec.type} proposal "${spec.title}"`, t, {
        json: { id, proposal: p },
        lines: [
          `proposal id ${id}: ${p.status}${p.status === 'voting' ? `, votes commit until height ${(p.votingEnd ?? 1) - 1} (zeus gov vote ${id} yes|no|abstain|veto --from NAME)` : `, deposit ${znc(p.deposit)} so far; deposits until height ${p.depositEnd} (zeus gov deposit ${id} --amount ZNC --from NAME)`}`,
        ],
      });
    });

  gov
    .command('deposit')
    .description("Add to a proposal's deposit (its vote opens at the minimum; returned when it ends, unless vetoed: then it goes to the rewards pool)")
    .argument('<id>', 'proposal id', proposalIdArg)
    .requiredOption(...fromOpt)
    .requiredOption('--amount <ZNC>', 'how much, in ZNC')
    .option(...waitOpt)
    .addHelpText('after', UNITS_HELP)
    .action(async (id: string, o: { from: string; amount: string; wait?: boolean }, cmd: Command) => {
      const amount = parseZnc(o.amount);
      if (amount <= 0n) throw new Error('--amount must be more than 0 ZNC');
      await sendTx(globalOptions(cmd), o.from, TxKind.GovDeposit, { proposal: BigInt(id), amount }, !!o.wait, `deposit of ${znc(amount)} on proposal ${id}`);
    });

  gov
    .command('vote')
    .description(
      "Vote on a proposal with your staked ZNC (a later vote replaces yours). It also decides for those who delegated to you and do not vote themselves; a delegator's own vote overrides its proxy's for its own stake",
    )
    .argument('<id>', 'proposal id', proposalIdArg)
    .argument('<option>', OPTIONS.join(' | '))
    .requiredOption(...fromOpt)
    .option(...waitOpt)
    .action(async (id: string, option: string, o: { from: string; wait?: boolean }, cmd: Command) => {
      const name = oneOf('the vote', OPTIONS, option);
      await sendTx(globalOptions(cmd), o.from, TxKind.GovVote, { proposal: BigInt(id), option: voteOption(name) }, !!o.wait, `vote ${name} on proposal ${id}`);
    });

  gov
    .command('list')
    .description('Proposals, newest first (--json: as GET /gov/proposals, amounts in base units)')
    .option('--status <status>', `only those in this status: ${STATUSES.join(', ')}`)
    .action(async (o: { status?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const status = o.status === undefined ? undefined : oneOf('--status', STATUSES, o.status);
      const all = await client(g).govProposals();
      const answer = { ...all, proposals: all.proposals.filter((p) => status === undefined || p.status === status) };
      output(g, answer, () => {
        if (answer.proposals.length === 0) return `height ${answer.height}: no proposals${status ? ` in status ${status}` : ''}`;
        const lines = [`height ${answer.height}: ${answer.proposals.length} proposal(s)`];
        for (const p of answer.proposals) {
          const when =
            p.status === 'voting'
              ? `vote counted at height ${p.votingEnd}`
              : p.status === 'deposit'
                ? `deposits until height ${p.depositEnd}`
                : p.executeAt !== null
                  ? `takes effect at height ${p.executeAt}`
                  : '';
          lines.push(
            `  ${`#${p.id}`.padEnd(5)} ${p.status.padEnd(9)} ${p.type.padEnd(13)} ${JSON.stringify(p.title)}  deposit ${znc(p.deposit)}${when ? `  ${when}` : ''}`,
          );
        }
        return lines.join('\n');
      });
    });

  gov
    .command('show')
    .description('One proposal: what it asks for, deposits, votes and its count (--json: as GET /gov/proposals/ID, amounts in base units)')
    .argument('<id>', 'proposal id', proposalIdArg)
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const p = await client(g).govProposal(id);
      output(g, p, () => proposalText(p, keyNames(g)));
    });

  gov
    .command('tally')
    .description(
      "A proposal's count: the recorded one once its vote ended, else the live one with each staker's weight and the proxy delegated weight followed (--json: the tally of GET /gov/proposals/ID, weights in base units)",
    )
    .argument('<id>', 'proposal id', proposalIdArg)
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const p = await client(g).govProposal(id);
      output(g, { id: p.id, status: p.status, height: p.height, votingEnd: p.votingEnd, tally: p.tally }, () => {
        const head = `proposal ${p.id} (${p.status}) at height ${p.height}${p.votingEnd !== null ? `, vote ${p.status === 'voting' ? 'counted' : 'was counted'} at height ${p.votingEnd}` : ''}`;
        if (!p.tally) return `${head}: no vote yet (deposits until height ${p.depositEnd}; zeus gov deposit ${p.id} --amount ZNC)`;
        return [head, ...tallyText(p.tally, keyNames(g), true)].join('\n');
      });
    });

  gov
    .command('params')
    .description(
      'The parameters governance may change: value now, type and bounds, what it is, and at genesis; the upgrade planned and the upgrades done (--json: as GET /gov/params)',
    )
    .addHelpText(
      'after',
      `
Values are in each parameter's own unit, the unit --set takes: type amount is ZNC base units
(1 ZNC = ${ZNC_UNIT}), bp is basis points (10000 = 100 %), int is a count, blocks or ms as its
description says. ${GOVERNABLE_PARAMS.length} parameters.`,
    )
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const a = await client(g).govParams();
      output(g, a, () => {
        const lines = [`height ${a.height}: ${a.params.length} governable parameters`, ...a.params.map(paramLine)];
        lines.push(
          a.upgradePlan
            ? `upgrade planned: ${a.upgradePlan.name} at height ${a.upgradePlan.height} (proposal ${a.upgradePlan.proposal})`
            : 'no upgrade planned',
        );
        for (const u of a.upgradesDone) lines.push(`upgrade done: ${u.name} at height ${u.height} (proposal ${u.proposal})`);
        return lines.join('\n');
      });
    });
}
