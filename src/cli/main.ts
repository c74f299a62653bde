import { Command, CommanderError } from 'commander';
import { registerNodeCommands } from './nodeCommands.ts';
import { reportError } from './context.ts';

// `zeus`: keys and wallet, node, tokens, multisig, staking and chain status. Every command
// takes --json for scripts and --node URL to talk to a node other than the home's own.
const program = new Command('zeus')
  .description('ZeusNet: a decentralized market for computing power, settled in ZNC on a 1+9-chain ledger')
  .option('--home <dir>', 'node home / keystore directory (env ZEUS_HOME, default ~/.zeus)')
  .option('--node <url>', 'node API URL (env ZEUS_NODE, default: the home\'s node or http://127.0.0.1:26657)')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .exitOverride();

registerNodeCommands(program);

const modules = ['./keysCommands.ts', './walletCommands.ts', './devnetCommands.ts'];
for (const m of modules) {
  const mod = (await import(m).catch((e: unknown) => {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(e).includes(m.slice(2))) return undefined;
    throw e;
  })) as { register?: (p: Command) => void } | undefined;
  mod?.register?.(program);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    reportError(e, process.argv.includes('--json'));
  }
}
