import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { ZeusClient } from '../sdk/index.ts';
import { globalOptions, output } from './context.ts';
import { runLedgerDemo } from './demo.ts';
import { isAlive, readDevnet, startDevnet, stopDevnet } from './devnet.ts';

const DEFAULT_DIR = '.devnet';

const count = (name: string) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name} must be a positive whole number, got "${v}"`);
  return Number(v);
};

export function register(program: Command): void {
  const devnet = program.command('devnet').description('A local development network on 127.0.0.1 (dev keys, funded accounts)');

  devnet
    .command('start')
    .description('Start the devnet\'s node processes in the background and return once the chain answers')
    .option('--dir <dir>', 'devnet directory', DEFAULT_DIR)
    .option('--validators <n>', 'bookkeeper nodes, each its own process (1: a solo bookkeeper without p2p)', count('--validators'), 4)
    .option('--block-time <ms>', 'block interval in ms', count('--block-time'), 500)
    .option('--month-ms <ms>', 'vesting month in ms of block time (default 2000 so vesting can be watched)', count('--month-ms'), 2000)
    .action(async (o: { dir: string; validators: number; blockTime: number; monthMs: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const info = await startDevnet({
        dir: o.dir,
        validators: o.validators,
        blockTimeMs: o.blockTime,
        monthMs: o.monthMs,
        onProgress: (m) => !g.json && process.stderr.write(`${m}\n`),
      });
      output(g, info, () =>
        [
          `devnet ${info.chainId} running in ${info.dir}`,
          ...info.nodes.map((n) => `  ${n.name} ${n.api} (pid ${n.pid}, log ${n.log}${n.p2p ? `, p2p ${n.p2p}` : ''})`),
          `keys: zeus --home ${info.nodes[0].home} keys list`,
          `status: zeus devnet status --dir ${o.dir}`,
        ].join('\n'),
      );
    });

  devnet
    .command('stop')
    .description('Stop the devnet\'s processes')
    .option('--dir <dir>', 'devnet directory', DEFAULT_DIR)
    .action(async (o: { dir: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const n = await stopDevnet(o.dir);
      output(g, { stopped: n }, () => `stopped ${n} node process(es)`);
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
          };
        }),
      );
      output(g, rows, () =>
        rows
          .map((r) =>
            [
              `${r.name} ${r.alive ? 'up  ' : 'down'} ${r.api}`,
              `height ${r.height ?? '-'}`,
              r.round !== undefined ? `deciding ${r.height! + 1} round ${r.round} ${r.step}, last commit in round ${r.lastCommitRound}` : '',
              r.peers !== undefined ? `peers ${r.peers}/${info.nodes.length - 1}` : '',
              r.bookkeeper === false ? 'follower' : '',
              `main root ${r.mainRoot?.slice(0, 16) ?? '-'}`,
              `mempool ${r.mempool ?? '-'}`,
            ]
              .filter(Boolean)
              .join('  '),
          )
          .join('\n'),
      );
    });

  devnet
    .command('demo')
    .description('Start a fresh devnet and walk through transfers, sub-tokens, staking, multisig and vesting')
    .option('--dir <dir>', 'devnet directory (recreated)', `${DEFAULT_DIR}/demo`)
    .option('--validators <n>', 'bookkeeper nodes (1: a solo bookkeeper without p2p)', count('--validators'), 4)
    .option('--keep', 'leave the devnet running afterwards')
    .action(async (o: { dir: string; validators: number; keep?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const say = (l: string): void => {
        if (!g.json) process.stdout.write(`${l}\n`);
      };
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
        output(g, { ...r, devnet: info }, () => (r.ok ? '\nDemo complete: supply conserved at exactly 10,000,000,000 ZNC.' : '\nDemo FAILED: supply not conserved'));
        if (!r.ok) process.exitCode = 1;
      } finally {
        if (o.keep) say(`\nDevnet left running: ${info.nodes[0].api} (stop: zeus devnet stop --dir ${o.dir})`);
        else await stopDevnet(o.dir);
      }
    });
}
