import { Command, CommanderError } from 'commander';
import { reportError } from './context.ts';
import { register as registerDevnet } from './devnetCommands.ts';
import { register as registerElection } from './electionCommands.ts';
import { register as registerGenesis } from './genesisCommands.ts';
import { register as registerGov } from './govCommands.ts';
import { asksVersion, noteJsonAmounts, ZEUS_VERSION } from './help.ts';
import { register as registerKeys } from './keysCommands.ts';
import { registerNodeCommands } from './nodeCommands.ts';
import { register as registerImages } from './imageCommands.ts';
import { register as registerRegistry } from './registryCommands.ts';
import { register as registerTasks } from './taskCommands.ts';
import { register as registerWallet } from './walletCommands.ts';
import { register as registerWorkers } from './workerCommands.ts';

// `zeus`: keys and wallet, node, tokens, multisig, staking, governance, chain status and the compute market
// (workers, apps, tasks, bids, leases) and the node's image registry. Every command
// takes --json for scripts and --node URL to talk to a node other than the home's own.
const program = new Command('zeus')
  .description(`zeus ${ZEUS_VERSION} — ZeusNet: a decentralized market for computing power, settled in ZNC on a 1+9-chain ledger`)
  .option('--home <dir>', 'node home / keystore directory (env ZEUS_HOME, default ~/.zeus)')
  .option(
    '--node <urls>',
    "node API URL, or several comma-separated: the first is asked; with --wait a transaction is given to the next when one stops answering or loses it (env ZEUS_NODE; default: the home's node and the peers its config names, or http://127.0.0.1:26657)",
  )
  .option('--json', 'print machine-readable JSON (amounts as strings of base units: 1 ZNC = 10^8)')
  .showHelpAfterError()
  .exitOverride();

registerKeys(program);
registerNodeCommands(program);
registerGenesis(program);
registerWallet(program);
registerElection(program);
registerGov(program);
registerWorkers(program);
registerImages(program);
registerTasks(program);
registerDevnet(program);
registerRegistry(program);
noteJsonAmounts(program);

try {
  if (asksVersion(process.argv.slice(2)))
    process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify({ version: ZEUS_VERSION })}\n` : `${ZEUS_VERSION}\n`);
  else await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    reportError(e, process.argv.includes('--json'));
    // A failed command is over: what it opened before failing (a node's store and verifier
    // threads, say) must not keep the process alive, hanging whoever waits for it to exit.
    process.exit();
  }
}
