import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The deterministic core's promises (no clock, randomness or I/O in src/ledger, src/market,
// src/consensus, src/codec; the consensus core imports only the portable crypto entry) are kept by
// `npm run lint`. These tests run the project's own biome.jsonc and lint/ plugins over probe files
// that break each promise, at a path inside the core and at the same path outside it. The probes live
// in a scratch copy of the config's layout, not in src/, so a run that dies midway leaves nothing
// behind for tsc, the linter or the other tests to trip over.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIOME = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
const CORE = ['src/ledger', 'src/market', 'src/consensus', 'src/codec'];

const dir = mkdtempSync(join(tmpdir(), 'zeus-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Finding {
  rule: string;
  line: number;
  message: string;
}

/** Lints the given files (path relative to the repository → contents); answers the findings per file and biome's exit code. */
function lint(files: Record<string, string>): { code: number; byFile: Map<string, Finding[]>; out: string } {
  const scratch = mkdtempSync(join(dir, 'run-'));
  cpSync(join(ROOT, 'biome.jsonc'), join(scratch, 'biome.jsonc'));
  cpSync(join(ROOT, 'lint'), join(scratch, 'lint'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
  // The scratch tree is no git repository: VCS integration off; the file list is given explicitly.
  const r = spawnSync(process.execPath, [BIOME, 'lint', '--vcs-enabled=false', '--reporter=github', '--max-diagnostics=none', ...Object.keys(files)], {
    cwd: scratch,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const byFile = new Map<string, Finding[]>(Object.keys(files).map((f) => [f, []]));
  // ::error title=lint/style/noRestrictedImports,file=/abs/path.ts,line=1,endLine=1,col=30,endColumn=39::message
  for (const m of r.stdout.matchAll(/^::(?:error|warning|notice) title=([^,]+),file=([^,]+),line=(\d+),[^:]*::(.*)$/gm)) {
    const file = relative(scratch, m[2]);
    byFile.get(file)?.push({ rule: m[1], line: Number(m[3]), message: m[4] });
  }
  return { code: r.status ?? -1, byFile, out: `${r.stdout}\n${r.stderr}` };
}

/** "line rule" per finding, in line order. */
const rules = (fs: Finding[] | undefined): string[] =>
  [...(fs ?? [])].sort((a, b) => a.line - b.line || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)).map((f) => `${f.line} ${f.rule}`);

// One violation per line, so each finding can be checked at its line.
const CLOCK_AND_RANDOMNESS = [
  'export const now = (): number => Date.now();',
  'export const stamp = (): Date => new Date();',
  'export const roll = (): number => Math.random();',
  'export const later = (f: () => void): void => { setTimeout(f, 1); };',
  'export const elapsed = (): number => performance.now();',
  'export const home = (): string | undefined => process.env.HOME;',
  'export const fill = (b: Uint8Array): Uint8Array => crypto.getRandomValues(b);',
  'export const asDate = (blockTime: number): string => new Date(blockTime).toISOString();',
  'export const today = (): string => Date();',
  'export const sneak = (): number => globalThis.Date.now();',
  'export const sorted = (xs: string[]): string[] => xs.sort((a, b) => a.localeCompare(b));',
  '',
].join('\n');
const CLOCK_AND_RANDOMNESS_FINDINGS = [
  '1 plugin',
  '2 plugin',
  '3 plugin',
  '4 lint/style/noRestrictedGlobals',
  '5 lint/style/noRestrictedGlobals',
  '6 lint/style/noRestrictedGlobals',
  '7 lint/style/noRestrictedGlobals',
  '9 plugin',
  '10 lint/style/noRestrictedGlobals',
  '11 plugin',
];

const IO = [
  "import { readFileSync } from 'node:fs';",
  "import { connect } from 'node:net';",
  "import { ClassicLevel } from 'classic-level';",
  "import { tcp } from '@libp2p/tcp';",
  "import { join } from 'node:path';",
  'export const used = [readFileSync, connect, ClassicLevel, tcp, join];',
  '',
].join('\n');
const IO_FINDINGS = [
  '1 lint/correctness/noNodejsModules',
  '1 lint/style/noRestrictedImports',
  '2 lint/correctness/noNodejsModules',
  '2 lint/style/noRestrictedImports',
  '3 lint/style/noRestrictedImports',
  '4 lint/style/noRestrictedImports',
  '5 lint/correctness/noNodejsModules',
];

describe('npm run lint keeps the deterministic core deterministic', () => {
  it('a Date.now() in a ledger file fails the lint, naming what it does; the same line in the node passes', () => {
    const code = 'export const stampedAt = (): number => Date.now();\n';
    const r = lint({ 'src/ledger/stamp.ts': code, 'src/node/stamp.ts': code });
    expect(r.code, r.out).not.toBe(0);
    expect(r.byFile.get('src/ledger/stamp.ts'), r.out).toEqual([
      { rule: 'plugin', line: 1, message: expect.stringContaining('Date.now() reads the wall clock') },
    ]);
    expect(r.byFile.get('src/node/stamp.ts'), r.out).toEqual([]);
    // And with the core file alone, the run passes: the failure above was that line's.
    const clean = lint({ 'src/node/stamp.ts': code });
    expect(clean.code, clean.out).toBe(0);
  });

  it.each(CORE)('%s: clock, timers, process and randomness are refused; a block time formatted as a date is not', (folder) => {
    const r = lint({ [`${folder}/probe.ts`]: CLOCK_AND_RANDOMNESS });
    expect(r.code, r.out).not.toBe(0);
    expect(rules(r.byFile.get(`${folder}/probe.ts`)), r.out).toEqual(CLOCK_AND_RANDOMNESS_FINDINGS);
  });

  it.each(CORE)('%s: I/O modules and I/O packages are refused', (folder) => {
    const r = lint({ [`${folder}/deep/probe.ts`]: IO });
    expect(r.code, r.out).not.toBe(0);
    expect(rules(r.byFile.get(`${folder}/deep/probe.ts`)), r.out).toEqual(IO_FINDINGS);
    const fs = r.byFile.get(`${folder}/deep/probe.ts`)?.find((f) => f.rule === 'lint/style/noRestrictedImports' && f.line === 1);
    expect(fs?.message).toContain('no file I/O');
  });

  it('the consensus core imports the portable crypto entry, not the one that loads the keystore', () => {
    const r = lint({
      'src/consensus/viaIndex.ts': "import { sha256 } from '../crypto/index.ts';\nexport const h = sha256;\n",
      'src/consensus/viaKeystore.ts': "import { Keystore } from '../crypto/keystore.ts';\nexport const k = Keystore;\n",
      'src/consensus/portable.ts': "import { sha256 } from '../crypto/portable.ts';\nexport const h = sha256;\n",
    });
    expect(r.code, r.out).not.toBe(0);
    expect(rules(r.byFile.get('src/consensus/viaIndex.ts')), r.out).toEqual(['1 lint/style/noRestrictedImports']);
    // keystore.ts is also behind crypto's entry points: both rules refuse it.
    expect(rules(r.byFile.get('src/consensus/viaKeystore.ts')), r.out).toEqual(['1 lint/style/noRestrictedImports', '1 plugin']);
    expect(r.byFile.get('src/consensus/viaIndex.ts')?.[0]?.message).toContain('crypto/portable.ts');
    expect(r.byFile.get('src/consensus/portable.ts'), r.out).toEqual([]);
  });

  it('the core does not load the layers above it (storage, node, network…); naming their types is fine', () => {
    const r = lint({
      'src/consensus/usesStore.ts': "import { LevelKvStore } from '../store/index.ts';\nexport const s = LevelKvStore;\n",
      'src/ledger/ops/usesNode.ts': "export { startNode } from '../../node/index.ts';\n",
      'src/market/lazyP2p.ts': "export const p2p = (): Promise<unknown> => import('../p2p/index.ts');\n",
      'src/consensus/namesStore.ts': "import type { KvStore } from '../store/index.ts';\nexport type Store = KvStore;\n",
    });
    expect(r.code, r.out).not.toBe(0);
    for (const f of ['src/consensus/usesStore.ts', 'src/ledger/ops/usesNode.ts', 'src/market/lazyP2p.ts']) {
      expect(r.byFile.get(f), `${f}\n${r.out}`).toEqual([{ rule: 'plugin', line: 1, message: expect.stringContaining('does I/O or sits above the core') }]);
    }
    expect(r.byFile.get('src/consensus/namesStore.ts'), r.out).toEqual([]);
  });

  it('outside the core, and in the core’s own tests, the same code passes', () => {
    const r = lint({
      'src/node/probe.ts': CLOCK_AND_RANDOMNESS,
      'src/node/io.ts': IO,
      'src/worker/probe.ts': CLOCK_AND_RANDOMNESS,
      'sim/probe.ts': CLOCK_AND_RANDOMNESS,
      'src/ledger/probe.test.ts': CLOCK_AND_RANDOMNESS,
      'src/codec/io.test.ts': IO,
      'src/api/crypto.ts': "import { sha256 } from '../crypto/index.ts';\nexport const h = sha256;\n",
      'src/api/store.ts': "import { LevelKvStore } from '../store/index.ts';\nexport const s = LevelKvStore;\n",
      'src/consensus/store.test.ts': "import { MemoryKvStore } from '../store/kv.ts';\nexport const s = MemoryKvStore;\n",
    });
    for (const [file, findings] of r.byFile) expect(findings, `${file}\n${r.out}`).toEqual([]);
    expect(r.code, r.out).toBe(0);
  });

  it('a part is used through its entry point, not the files behind it; inside a part anything goes', () => {
    const r = lint({
      'src/api/internals.ts': "import { Ledger } from '../ledger/ledger.ts';\nexport const l = Ledger;\n",
      'src/ledger/ops/internals.ts': "import type { ZeusNode } from '../../node/zeusNode.ts';\nexport type N = ZeusNode;\n",
      'src/api/entry.ts': "import { Ledger } from '../ledger/index.ts';\nimport { sha256 } from '../crypto/portable.ts';\nexport const l = [Ledger, sha256];\n",
      'src/sdk/clientEntry.ts': "import { signTx } from '../ledger/index.client.ts';\nexport const s = signTx;\n",
      'src/web/data/clientEntry.ts': "export { signTx } from '../../ledger/index.client.ts';\n",
      'src/ledger/ops/sibling.ts': "import { readTask } from '../market/tasks.ts';\nimport { fail } from '../errors.ts';\nexport const f = [readTask, fail];\n",
      'src/api/internals.test.ts': "import { Ledger } from '../ledger/ledger.ts';\nexport const l = Ledger;\n",
    });
    expect(r.code, r.out).not.toBe(0);
    for (const f of ['src/api/internals.ts', 'src/ledger/ops/internals.ts']) {
      expect(r.byFile.get(f), `${f}\n${r.out}`).toEqual([{ rule: 'plugin', line: 1, message: expect.stringContaining("another part's internals") }]);
    }
    for (const f of ['src/api/entry.ts', 'src/sdk/clientEntry.ts', 'src/web/data/clientEntry.ts', 'src/ledger/ops/sibling.ts', 'src/api/internals.test.ts'])
      expect(r.byFile.get(f), `${f}\n${r.out}`).toEqual([]);
  });
});
