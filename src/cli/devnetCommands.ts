import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { ZeusClient } from '../sdk/index.ts';
import { globalOptions, output } from './context.ts';
import { runLedgerDemo } from './demo.ts';
import { runMarketDemo } from './marketDemo.ts';
import { etcdHealthy } from './devnetEtcd.ts';
import {
  devnetExists,
  devnetIn,
  devnetOptionsOf,
  isAlive,
  readDevnet,
  runningDevnet,
  startDevnet,
  stopDevnet,
  type DevnetInfo,
  type DevnetRuntime,
} from './devnet.ts';
import { devnetKeys, devnetSummary } from './devnetSummary.ts';

const DEFAULT_DIR = '.devnet';

const whole =
  (name: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number, got "${v}"`);
    return Number(v);
  };

const runtimeName = (v: string): 'auto' | DevnetRuntime => {
  if (v !== 'auto' && v !== 'docker' && v !== 'wasm') throw new Error(`--runtime is auto, docker or wasm, got "${v}"`);
  return v;
};

const count =
  (name: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name} must be a positive whole number, got "${v}"`);
    return Number(v);
  };

/** One member's line of `devnet status`: is it the one that signs, and who is if not. */
function groupText(g: { group: string; active?: boolean; leader?: string | null; failovers?: number; refusedCas?: number }): string {
  if (g.active === undefined) return `group ${g.group}: -`;
  const role = g.active ? 'ACTIVE (signs for the seat)' : `standby (active: ${g.leader ?? 'none'})`;
  return `group ${g.group}: ${role}, failovers ${g.failovers}, refused CAS ${g.refusedCas}`;
}

export function register(program: Command): void {
  const devnet = program.command('devnet').description('A local development network on 127.0.0.1 (dev keys, funded accounts)');

  devnet
    .command('start')
    .description(
      'Start a devnet on 127.0.0.1: bookkeeper nodes, worker agents and the web console, funded named keys and the sample apps published; returns once it all runs',
    )
    .option('--dir <dir>', 'devnet directory', DEFAULT_DIR)
    .option('--validators <n>', 'bookkeeper nodes, each its own process (1: a solo bookkeeper without p2p)', count('--validators'), 4)
    .option(
      '--workers <n>',
      'worker agents, each its own process beside its own node (0: none, and no sample apps) (default: 2, at most one per node)',
      whole('--workers'),
    )
    .option('--runtime <name>', "the workers' runtime: auto (docker when an engine answers, else wasm), docker or wasm", runtimeName, 'auto')
    .option('--block-time <ms>', 'block interval in ms', count('--block-time'), 500)
    .option(
      '--group-size <n>',
      "run seat 0 as a group of N member processes sharing its key (homes node0, node0-1, …), with a 3-member etcd cluster on 127.0.0.1 that elects the one that signs (needs etcd: Debian's etcd-server) (default 1: no group)",
      count('--group-size'),
      1,
    )
    .option('--month-ms <ms>', 'vesting month in ms of block time (default 2000 so vesting can be watched)', count('--month-ms'), 2000)
    .option(
      '--upgrade-module <file>',
      "an ES module of upgrade handlers every node starts with (`zeus node start --upgrade-module`; repeatable): how a devnet halted at a passed upgrade's height goes on (docs/GOVERNANCE.md)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addHelpText(
      'after',
      '\nA directory that already holds a devnet (running or stopped) is started again as it was made: same keys, chain, nodes, workers and sample apps, and its block time and runtime unless --block-time or --runtime is given. If it cannot come up, what was started is stopped again and the error says why. The keys use the well-known dev passphrase: never put real funds on them. Next: `zeus devnet demo` runs a render task and a service task on it.',
    )
    .action(
      async (
        o: {
          dir: string;
          validators: number;
          workers?: number;
          runtime: 'auto' | DevnetRuntime;
          blockTime: number;
          groupSize: number;
          monthMs: number;
          upgradeModule?: string[];
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const t0 = Date.now();
        // Progress goes to stderr, with --json too: stdout keeps the one JSON answer, and a long start is never silent.
        const say = (m: string): void => void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}\n`);
        const before = runningDevnet(o.dir);
        // Handlers are loaded when a node starts: a running devnet (halted at an upgrade, say) must be stopped first.
        if (before && o.upgradeModule?.length)
          throw new Error(
            `the devnet in ${o.dir} is running: stop it (\`zeus devnet stop --dir ${o.dir}\`), then start it again with --upgrade-module; its nodes load the handlers when they start`,
          );
        if (before) {
          // Running already: say where it is rather than fail, so the README's command can be run again.
          say(`the devnet in ${o.dir} is already running`);
          const keys = await devnetKeys(before);
          output(g, { ...before, keys }, () => devnetSummary(before, keys, o.dir, Date.now() - t0));
          return;
        }
        // Flags left at their defaults do not override how an existing devnet was made.
        const given = <T>(name: string, v: T): T | undefined => (cmd.getOptionValueSource(name) === 'default' ? undefined : v);
        const validators = given('validators', o.validators);
        const fresh = !devnetExists(o.dir);
        // Ctrl-C while it comes up: stop what was started rather than leave it half running.
        const aborter = new AbortController();
        const interrupt = (): void => aborter.abort(new Error('interrupted'));
        process.once('SIGINT', interrupt);
        process.once('SIGTERM', interrupt);
        let info: DevnetInfo;
        try {
          info = await startDevnet({
            dir: o.dir,
            validators: fresh ? o.validators : validators,
            workers: o.workers ?? (fresh ? Math.min(2, o.validators) : undefined),
            runtime: given('runtime', o.runtime),
            blockTimeMs: fresh ? o.blockTime : given('blockTime', o.blockTime),
            groupSize: given('groupSize', o.groupSize),
            monthMs: o.monthMs,
            upgradeModules: o.upgradeModule,
            onProgress: say,
            signal: aborter.signal,
          });
        } finally {
          process.off('SIGINT', interrupt);
          process.off('SIGTERM', interrupt);
        }
        const keys = await devnetKeys(info);
        output(g, { ...info, keys }, () => devnetSummary(info, keys, o.dir, Date.now() - t0));
      },
    );

  devnet
    .command('stop')
    .description("Stop the devnet's processes")
    .option('--dir <dir>', 'devnet directory', DEFAULT_DIR)
    .action(async (o: { dir: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const n = await stopDevnet(o.dir);
      output(g, { stopped: n }, () => `stopped ${n} process(es)`);
    });

  devnet
    .command('status')
    .description('Heights, consensus rounds, peers and state roots of every devnet node')
    .option('--dir <dir>', 'devnet directory', DEFAULT_DIR)
    .action(async (o: { dir: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const info = readDevnet(o.dir);
      const rows = await Promise.all(
        info.nodes.map(async (n) => {
          const alive = isAlive(n.pid);
          const s = alive ? await new ZeusClient(n.api).status().catch(() => undefined) : undefined;
          const c = s && 'peerId' in s.consensus ? s.consensus : undefined;
          return {
            name: n.name,
            api: n.api,
            pid: n.pid,
            alive,
            height: s?.height,
            round: c?.round,
            step: c?.step,
            lastCommitRound: c?.lastCommitRound,
            bookkeeper: c ? c.self >= 0 : undefined,
            peers: c?.peers.filter((p) => p.connected).length,
            peerIds: c?.peers.map((p) => ({ id: p.id, connected: p.connected, score: p.score, banned: p.banned })),
            synced: c?.synced,
            mainRoot: s?.chains[0].stateRoot,
            mempool: s?.mempool,
            halted: s?.halted ?? undefined,
            // A seat group's member: which one signs (the member's own view; a stopped one says nothing).
            signerGroup: s?.signerGroup
              ? {
                  group: s.signerGroup.group,
                  active: s.signerGroup.active,
                  leader: s.signerGroup.leader,
                  failovers: s.signerGroup.failovers,
                  refusedCas: s.signerGroup.refusedCas,
                }
              : n.group !== undefined
                ? { group: n.group, active: undefined, leader: undefined, failovers: undefined, refusedCas: undefined }
                : undefined,
          };
        }),
      );
      const etcd = await Promise.all(
        (info.etcd ?? []).map(async (m) => ({
          name: m.name,
          client: m.client,
          pid: m.pid,
          alive: isAlive(m.pid),
          healthy: isAlive(m.pid) && (await etcdHealthy(m)),
        })),
      );
      const workers = (info.workers ?? []).map((w) => ({
        name: w.name,
        address: w.address,
        runtime: w.runtime,
        node: w.node,
        pid: w.pid,
        alive: isAlive(w.pid),
        log: w.log,
      }));
      output(g, { nodes: rows, workers, ...(info.etcd ? { etcd } : {}), console: info.console ?? null }, () =>
        [
          ...rows.map((r) =>
            [
              `${r.name} ${r.alive ? 'up  ' : 'down'} ${r.api}`,
              `height ${r.height ?? '-'}`,
              r.round !== undefined ? `deciding ${r.height! + 1} round ${r.round} ${r.step}, last commit in round ${r.lastCommitRound}` : '',
              r.peers !== undefined ? `peers ${r.peers}/${info.nodes.length - 1}` : '',
              r.bookkeeper === false ? 'follower' : '',
              r.signerGroup ? groupText(r.signerGroup) : '',
              `main root ${r.mainRoot?.slice(0, 16) ?? '-'}`,
              `mempool ${r.mempool ?? '-'}`,
              // A halted node still answers: say why it no longer commits (an upgrade: restart with --upgrade-module).
              r.halted ? `HALTED: ${r.halted.reason}` : '',
            ]
              .filter(Boolean)
              .join('  '),
          ),
          ...workers.map((w) => `${w.name} ${w.alive ? 'up  ' : 'down'} ${w.address}  ${w.runtime}  follows ${w.node}`),
          ...etcd.map((m) => `${m.name} ${m.alive ? 'up  ' : 'down'} ${m.client}${m.alive ? (m.healthy ? '  healthy' : '  NOT healthy (no quorum?)') : ''}`),
          ...(info.console ? [`web console ${info.console}`] : []),
        ].join('\n'),
      );
    });

  devnet
    .command('demo')
    .description(
      'Run a render task and a service task end to end on the devnet in --dir (started first, with its workers, when it is not running): posted, bids, lease, image delivered, running, result, payments',
    )
    .option('--dir <dir>', 'devnet directory', DEFAULT_DIR)
    .option('--stop', 'stop the devnet afterwards (by default it keeps running, so the console can show what happened)')
    .addHelpText(
      'after',
      "\nThe tasks are posted by the devnet's user key with the zeus commands it prints, so each step can be done again by hand. With no Docker engine the workers run WebAssembly only: the render task becomes the WASI sample (primes) and the service task is skipped, saying so.",
    )
    .action(async (o: { dir: string; stop?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      // With --json the steps go to stderr: stdout keeps the one JSON answer, and the wait is never silent.
      const say = (l: string): void => void (g.json ? process.stderr : process.stdout).write(`${l}\n`);
      const t0 = Date.now();
      let info = devnetIn(o.dir);
      const running = runningDevnet(o.dir);
      if (running && !running.workers?.length)
        throw new Error(`the devnet running in ${o.dir} has no workers (started with --workers 0): stop it, or give another --dir`);
      if (!running) {
        if (devnetExists(o.dir) && devnetOptionsOf(o.dir).workers === 0)
          throw new Error(`the devnet in ${o.dir} has no workers (made with --workers 0): give another --dir (a new devnet is made there)`);
        if (info) await stopDevnet(o.dir);
        say(`Starting the devnet in ${o.dir}: 4 bookkeepers, 2 workers, the web console and the sample apps…`);
        info = await startDevnet({
          dir: o.dir,
          validators: 4,
          workers: 2,
          blockTimeMs: 500,
          monthMs: 2000,
          onProgress: (m) => say(`   [${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}`),
        });
      } else info = running;
      say(`Devnet ${info.chainId} in ${info.dir}; web console ${info.console ?? `${info.nodes[0].api}/`}`);
      let failed = false;
      try {
        const r = await runMarketDemo(info, say);
        failed = !r.ok;
        output(g, { ...r, devnet: info }, () =>
          r.ok ? `\nDemo complete in ${((Date.now() - t0) / 1000).toFixed(0)} s. See it all in the console: ${info.console}` : '\nDemo FAILED',
        );
      } finally {
        if (failed) process.exitCode = 1;
        if (o.stop) await stopDevnet(o.dir);
        else say(`The devnet keeps running (stop it: zeus devnet stop${o.dir === DEFAULT_DIR ? '' : ` --dir ${o.dir}`}).`);
      }
    });

  devnet
    .command('tour')
    .description('Start a fresh devnet and walk through the ledger: transfers, sub-tokens, staking, multisig, vesting, a market task sent by hand')
    .option('--dir <dir>', 'devnet directory (recreated)', `${DEFAULT_DIR}/tour`)
    .option('--validators <n>', 'bookkeeper nodes (1: a solo bookkeeper without p2p)', count('--validators'), 4)
    .option('--keep', 'leave the devnet running afterwards')
    .action(async (o: { dir: string; validators: number; keep?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      // With --json the steps go to stderr: stdout keeps the one JSON answer, and the wait is never silent.
      const say = (l: string): void => void (g.json ? process.stderr : process.stdout).write(`${l}\n`);
      try {
        await stopDevnet(o.dir);
      } catch {
        /* nothing running there */
      }
      rmSync(o.dir, { recursive: true, force: true });
      say(`Starting a devnet of ${o.validators} bookkeeper process(es) in ${o.dir} (block time 250 ms, a vesting month = 2 s)…`);
      const info = await startDevnet({ dir: o.dir, validators: o.validators, blockTimeMs: 250, monthMs: 2000, onProgress: (m) => say(`   ${m}`) });
      try {
        const r = await runLedgerDemo(info, say);
        output(g, { ...r, devnet: info }, () =>
          r.ok ? '\nTour complete: supply conserved at exactly 10,000,000,000 ZNC.' : '\nTour FAILED: supply not conserved',
        );
        if (!r.ok) process.exitCode = 1;
      } finally {
        if (o.keep) say(`\nDevnet left running: ${info.nodes[0].api} (stop: zeus devnet stop --dir ${o.dir})`);
        else await stopDevnet(o.dir);
      }
    });
}
