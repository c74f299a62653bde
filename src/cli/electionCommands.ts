import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decodeAddress, fromHex } from '../crypto/index.ts';
import { TxKind, ZNC_DECIMALS } from '../ledger/index.ts';
import { formatUnits } from '../sdk/index.ts';
import { client, globalOptions, output, resolveAddress } from './context.ts';
import { waitOpt } from './marketArgs.ts';
import { sendTx } from './tx.ts';

const fromOpt = ['--from <name>', 'key name in the keystore that signs'] as const;

export function register(program: Command): void {
  program
    .command('bookkeepers')
    .description('Candidates (vote weight, stake, missed slots, jail), votes, and the current and scheduled bookkeeper sets')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const b = await client(g).bookkeepers();
      output(g, b, () => {
        const lines = [`height ${b.height}: ${b.set.length} of ${b.seats} seats; next election at height ${b.nextElection} (epoch ${b.epochLength} blocks)`];
        for (const c of b.candidates) {
          const flags = [c.inSet ? 'IN SET' : '', c.jailedUntil ? `jailed until ${new Date(c.jailedUntil).toISOString()}` : '', c.slashed ? 'SLASHED' : '']
            .filter(Boolean)
            .join(', ');
          lines.push(
            `  ${c.name.padEnd(14)} ${c.address} weight ${formatUnits(c.weight, ZNC_DECIMALS)} ZNC, staked ${formatUnits(c.staked, ZNC_DECIMALS)}, proposed ${c.proposed}, earned ${formatUnits(BigInt(c.earned), ZNC_DECIMALS)} ZNC this epoch, missed ${c.missedInARow} in a row (${c.missedTotal} total)${flags ? `  [${flags}]` : ''}`,
          );
        }
        for (const s of b.scheduled) lines.push(`  scheduled from height ${s.fromHeight}: ${s.keys.map((k) => k.slice(0, 12)).join(', ')}`);
        if (b.votes.length) lines.push(`  ${b.votes.length} voters`);
        return lines.join('\n');
      });
    });

  const candidate = program.command('candidate').description('Stand for election as a bookkeeper');
  candidate
    .command('register')
    .description('Register the signing key as a bookkeeper candidate (needs the minimum stake; the key is also the consensus key)')
    .requiredOption(...fromOpt)
    .requiredOption('--name <name>', 'display name (letters, digits, _ . -)')
    .option(...waitOpt)
    .action(async (o: { from: string; name: string; wait?: boolean }, cmd: Command) => {
      await sendTx(globalOptions(cmd), o.from, TxKind.RegisterCandidate, { name: o.name }, !!o.wait, `registration of candidate ${o.name}`);
    });

  program
    .command('vote')
    .description('Vote for bookkeeper candidates with the weight of your staked ZNC (replaces your previous vote)')
    .requiredOption(...fromOpt)
    .requiredOption('--for <candidates>', 'comma-separated candidate addresses or key names (up to 30)')
    .option(...waitOpt)
    .action(async (o: { from: string; for: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const candidates = o.for
        .split(',')
        .filter(Boolean)
        .map((c) => decodeAddress(resolveAddress(g, c.trim())));
      await sendTx(g, o.from, TxKind.VoteBookkeepers, { candidates }, !!o.wait, `vote for ${candidates.length} candidate(s)`);
    });

  program
    .command('delegate')
    .description('Let a proxy vote with your stake (--to none withdraws the delegation)')
    .requiredOption(...fromOpt)
    .requiredOption('--to <proxy>', 'proxy address or key name, or "none"')
    .option(...waitOpt)
    .action(async (o: { from: string; to: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const proxy = o.to === 'none' ? new Uint8Array(0) : decodeAddress(resolveAddress(g, o.to));
      await sendTx(g, o.from, TxKind.Delegate, { proxy }, !!o.wait, o.to === 'none' ? 'withdrawal of delegation' : `delegation to ${o.to}`);
    });

  program
    .command('unjail')
    .description('Return to candidacy after the jail period')
    .requiredOption(...fromOpt)
    .option(...waitOpt)
    .action(async (o: { from: string; wait?: boolean }, cmd: Command) => {
      await sendTx(globalOptions(cmd), o.from, TxKind.Unjail, {}, !!o.wait, 'unjail');
    });

  const evidence = program.command('evidence').description('Evidence of bookkeeper misbehaviour');
  evidence
    .command('submit')
    .description('Submit two conflicting signed votes of one bookkeeper (hex-encoded SignedVote each, or a JSON file {"first","second"})')
    .requiredOption(...fromOpt)
    .option('--first <hex>', 'first signed vote (hex)')
    .option('--second <hex>', 'second signed vote (hex)')
    .option('--file <path>', 'JSON file with "first" and "second" (as the node writes to its evidence log)')
    .option(...waitOpt)
    .action(async (o: { from: string; first?: string; second?: string; file?: string; wait?: boolean }, cmd: Command) => {
      let { first, second } = o;
      if (o.file) ({ first, second } = JSON.parse(readFileSync(o.file, 'utf8')) as { first: string; second: string });
      if (!first || !second) throw new Error('give --first and --second, or --file');
      await sendTx(globalOptions(cmd), o.from, TxKind.SubmitEvidence, { first: fromHex(first), second: fromHex(second) }, !!o.wait, 'evidence');
    });
}
