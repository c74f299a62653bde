import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

// The README's main command, run the way a user runs it (in a temporary directory).
const dir = mkdtempSync(join(tmpdir(), 'zeus-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('zeus devnet tour walks through the ledger and ends with the supply conserved', () => {
  const r = spawnSync(process.execPath, ['bin/zeus.js', '--json', 'devnet', 'tour', '--dir', join(dir, 'tour')], {
    env: { ...process.env, ZEUS_KEYSTORE_FAST_KDF: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const out = JSON.parse(r.stdout) as { ok: boolean; steps: string[]; devnet: { nodes: { pid: number }[] } };
  expect(out.ok).toBe(true);
  expect(out.steps).toHaveLength(9); // the last: the bookkeeper processes agree on every block
  expect(out.devnet.nodes).toHaveLength(4);
  // The demo stops what it started.
  for (const n of out.devnet.nodes) expect(() => process.kill(n.pid, 0)).toThrow();
}, 120_000);
