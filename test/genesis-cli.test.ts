import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_BIN, nodeEnv, ROOT } from './helpers/processes.ts';

// `zeus genesis …` explains itself. The ceremony as processes (test/helpers/ceremony.ts), with the
// commands' refusals along the way, runs once, in test/network-ceremony.test.ts, which then starts
// a network from its result on four hosts.

const dir = mkdtempSync(join(tmpdir(), 'zeus-genesis-'));
const env = { ...nodeEnv(), ZEUS_PASSPHRASE: 'ceremony' };
const homes = [join(dir, 'home-0')];

function zeus(home: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, ...args], { env, encoding: 'utf8', timeout: 60_000, cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
function ok(home: string, ...args: string[]): string {
  const r = zeus(home, ...args);
  expect(r.code, `zeus ${args.join(' ')}: ${r.err}`).toBe(0);
  return r.out;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('zeus genesis (the ceremony)', () => {
  it('explains each command', () => {
    const help = ok(homes[0], 'genesis', '--help');
    for (const c of ['new', 'add-allocation', 'gentx', 'add-bookkeeper', 'validate', 'hash']) expect(help).toContain(c);
    expect(ok(homes[0], 'genesis', 'add-allocation', '--help')).toMatch(/--members[\s\S]*--threshold/);
    expect(ok(homes[0], 'genesis', 'gentx', '--help')).toMatch(/--p2p[\s\S]*--stake/);
    const misspelt = zeus(homes[0], 'genesis', 'new', '--chain-id', 'zeus-x-1', '--param', 'epochLenght=10');
    expect(misspelt.code).not.toBe(0);
    expect(misspelt.err).toMatch(/unknown parameter "epochLenght": one of monthMs, /);
  });
});
