import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ZNC_DECIMALS } from '../ledger/index.ts';

// What `zeus --version` and `--help` say about zeus itself, and the note every command that
// prints amounts carries about how they read in JSON.

/** The version of the zeusnet package this `zeus` belongs to (package.json beside src/). */
export const ZEUS_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Whether the command line asks for the version: `-V` or `--version` before any command name.
 * Commander's own `.version()` cannot be used: it would take `app publish --version 1.0` (a
 * subcommand's option of the same name) for the program's flag anywhere on the line.
 */
export function asksVersion(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--version' || a === '-V') return true;
    if (a === '--home' || a === '--node')
      i++; // the global options that take a value
    else if (!a.startsWith('-')) return false; // a command name: what follows is the command's
  }
  return false;
}

/** Said under every command whose output holds amounts. */
export const JSON_AMOUNTS_NOTE = `With --json, amounts are strings of base units: 1 ZNC = 10^${ZNC_DECIMALS} base units (100000000); a sub-token's base unit is 10^-decimals of it (zeus token list). Text output shows whole tokens with decimals.`;

/**
 * Commands whose output holds amounts: a group name stands for all its commands. Commands whose
 * output is keys, files, processes or digests only (keys, node, init, the other genesis and devnet
 * commands, registry, image, app init, evidence) are left out.
 */
export const COMMANDS_WITH_AMOUNTS: readonly string[] = [
  'balance',
  'transfer',
  'stake',
  'unstake',
  'token',
  'multisig',
  'chain',
  'bookkeepers',
  'candidate',
  'vote',
  'delegate',
  'gov',
  'worker',
  'app publish',
  'app list',
  'app show',
  'task',
  'lease',
  'bid',
  'devnet start',
  'devnet demo',
  'genesis add-allocation',
  'genesis add-bookkeeper',
];

const pathOf = (c: Command): string[] => (c.parent ? [...pathOf(c.parent), c.name()] : []);

/** Adds the JSON amounts note to the help of every command that prints amounts (and of the program). */
export function noteJsonAmounts(program: Command): void {
  program.addHelpText('after', `\n${JSON_AMOUNTS_NOTE}\n-V, --version prints the version of zeus (${ZEUS_VERSION}).`);
  const visit = (c: Command): void => {
    const path = pathOf(c).join(' ');
    if (c.commands.length === 0 && COMMANDS_WITH_AMOUNTS.some((p) => path === p || path.startsWith(`${p} `))) c.addHelpText('after', `\n${JSON_AMOUNTS_NOTE}`);
    for (const sub of c.commands) visit(sub);
  };
  for (const c of program.commands) visit(c);
}
