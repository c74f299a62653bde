import { Keystore } from '../crypto/index.ts';
import { ZNC, ZNC_DECIMALS } from '../ledger/index.ts';
import { homePaths } from '../node/index.client.ts';
import { formatUnitsGrouped, ZeusClient } from '../sdk/index.ts';
import type { DevnetInfo } from './devnet.ts';

// What a person needs after `zeus devnet start`: where the console is, which processes run, the
// funded keys by role, the published apps, and the commands to go on with.

export interface DevnetKey {
  name: string;
  role: string;
  address: string;
  balance: string;
}

const ROLE: Record<string, string> = {
  developer: 'publishes the sample apps, earns their license fees',
  user: 'posts tasks',
  alice: 'dev account',
  bob: 'dev account',
  carol: 'dev account',
  dave: 'dev account',
};

/** The devnet's funded named keys (not the genesis holders or bookkeepers) with their ZNC. */
export async function devnetKeys(info: DevnetInfo): Promise<DevnetKey[]> {
  const ks = new Keystore(homePaths(info.nodes[0].home).keys);
  const c = new ZeusClient(info.nodes[0].api);
  const names = [...Object.keys(ROLE), ...(info.workers ?? []).map((w) => w.key)].filter((n) => ks.has(n));
  return Promise.all(
    names.map(async (name) => {
      const address = ks.show(name).address;
      const balance = (await c.account(address).catch(() => undefined))?.balances[ZNC] ?? '0';
      const w = info.workers?.find((x) => x.key === name);
      return { name, role: w ? `worker agent (${w.runtime}), bonded` : (ROLE[name] ?? ''), address, balance };
    }),
  );
}

const znc = (base: string): string => `${formatUnitsGrouped(base, ZNC_DECIMALS)} ZNC`;

export function devnetSummary(info: DevnetInfo, keys: DevnetKey[], dirArg: string, elapsedMs: number): string {
  const home = info.nodes[0].home;
  const lines = [
    '',
    `ZeusNet devnet ${info.chainId} is up (${(elapsedMs / 1000).toFixed(1)} s) in ${info.dir}`,
    '',
    `  web console   ${info.console ?? `${info.nodes[0].api}/`}`,
    '',
    '  bookkeepers',
    ...info.nodes.map((n) => `    ${n.name.padEnd(12)}${n.api}  pid ${n.pid}  log ${n.log}${n.group ? `  (member of seat group ${n.group})` : ''}`),
  ];
  if (info.etcd?.length) {
    lines.push('', "  etcd (elects the seat group's signing member)");
    for (const m of info.etcd) lines.push(`    ${m.name.padEnd(12)}${m.client}  pid ${m.pid}  log ${m.log}`);
  }
  if (info.workers?.length) {
    lines.push('', '  workers');
    for (const w of info.workers) lines.push(`    ${w.name.padEnd(12)}${w.address}  ${w.runtime}, follows ${w.node}  pid ${w.pid}  log ${w.log}`);
  }
  if (info.apps?.length) {
    lines.push('', '  sample apps (published by developer)');
    for (const a of info.apps) lines.push(`    ${`${a.name}@${a.version}`.padEnd(14)}${a.digest.slice(0, 19)}…  ${a.about}`);
  }
  lines.push('', `  keys (in ${homePaths(home).keys}, dev passphrase — never hold real funds)`);
  for (const k of keys) lines.push(`    ${k.name.padEnd(12)}${k.address}  ${znc(k.balance).padStart(20)}  ${k.role}`);
  const dir = dirArg === '.devnet' ? '' : ` --dir ${dirArg}`;
  lines.push(
    '',
    '  next',
    `    npx zeus devnet demo${dir}                 a render task and a service task, end to end`,
    `    export ZEUS_HOME=${home} ZEUS_NODE=${info.nodes[0].api}`,
    info.apps?.some((a) => a.name === 'mandelbrot')
      ? '    npx zeus task post --from user --app mandelbrot@1 --input SIZE=32 --max-price 1 --max-hours 1 --wait'
      : '    npx zeus task post --from user --app primes@1 --runtime wasm --max-price 1 --max-hours 1 --wait',
    `    npx zeus devnet status${dir}   ·   npx zeus devnet stop${dir}`,
    '',
  );
  return lines.join('\n');
}
