import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppAnswer, LeaseAnswer } from '../sdk/index.ts';
import { earningsByVersion } from './appEarnings.ts';
import { initApp } from './appInit.ts';
import { asksVersion, JSON_AMOUNTS_NOTE, noteJsonAmounts, ZEUS_VERSION } from './help.ts';

// The app developer's pieces of the CLI without a network: the template `zeus app init` writes,
// the fee sums `zeus app show` prints, `--version` and the JSON amounts note in `--help`.

const dir = mkdtempSync(join(tmpdir(), 'zeus-app-init-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('initApp', () => {
  it('writes the container template: FROM scratch + busybox, a run.sh that reads the environment and writes /out', () => {
    const busybox = join(dir, 'fake-busybox');
    writeFileSync(busybox, 'ELF');
    const r = initApp('hello', { parent: dir, busyboxPath: busybox });
    expect(r).toMatchObject({ app: 'hello', template: 'docker', busybox: true, files: ['.dockerignore', 'Dockerfile', 'README.md', 'busybox', 'run.sh'] });
    const df = readFileSync(join(dir, 'hello', 'Dockerfile'), 'utf8');
    expect(df).toMatch(/^FROM scratch$/m);
    expect(df).toContain('COPY busybox /bin/busybox');
    expect(df).toContain('USER 65534:65534');
    const sh = readFileSync(join(dir, 'hello', 'run.sh'), 'utf8');
    expect(sh).toContain('WHO:-world');
    expect(sh).toContain('/out/result.txt');
    expect(statSync(join(dir, 'hello', 'run.sh')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(dir, 'hello', 'busybox'), 'utf8')).toBe('ELF');
  });

  it('says where to get busybox when the machine has none, and still writes the rest', () => {
    const r = initApp('nobox', { parent: dir, busyboxPath: join(dir, 'no-such-busybox') });
    expect(r.busybox).toBe(false);
    expect(r.files).not.toContain('busybox');
    expect(readFileSync(join(dir, 'nobox', 'README.md'), 'utf8')).toContain('MISSING: copy a statically linked busybox here');
  });

  it('writes the WASI template: a module that is WebAssembly, and its Rust source', () => {
    const r = initApp('hello-wasm', { parent: dir, wasm: true });
    expect(r.files).toEqual(['Cargo.toml', 'README.md', 'app.wasm', 'src/main.rs']);
    expect([...readFileSync(join(dir, 'hello-wasm', 'app.wasm')).subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
    expect(readFileSync(join(dir, 'hello-wasm', 'src', 'main.rs'), 'utf8')).toContain('fs::write("/out/result.txt"');
    expect(readFileSync(join(dir, 'hello-wasm', 'README.md'), 'utf8')).toContain('zeus app publish --wasm hello-wasm/app.wasm');
  });

  it('never overwrites, and refuses a name the chain would refuse', () => {
    writeFileSync(join(dir, 'taken'), 'mine');
    expect(() => initApp('taken', { parent: dir })).toThrow(/already exists: app init writes a new folder and never overwrites/);
    expect(readFileSync(join(dir, 'taken'), 'utf8')).toBe('mine');
    expect(() => initApp('hello', { parent: dir })).toThrow(/hello already exists \(a folder\)/);
    for (const bad of ['Hello', '../up', 'a/b', '', '-x', 'x'.repeat(65)]) expect(() => initApp(bad, { parent: dir })).toThrow(/cannot be an app's name/);
    expect(existsSync(join(dir, '..', 'up'))).toBe(false);
  });
});

describe('earningsByVersion', () => {
  const version = (v: string, feeToken = 'ZNC') => ({
    name: 'hello',
    version: v,
    digest: `sha256:${'ab'.repeat(32)}`,
    developer: 'znc1dev',
    feeToken,
    licenseFeePerHour: '50000000',
    requiresLicense: false,
    deprecated: false,
    publishedAt: 1,
    failures: '0',
    releases: '0',
  });
  const app: AppAnswer = { name: 'hello', owner: 'znc1dev', versions: [version('0.1.0'), version('0.2.0', 'GPU')], licensees: [] };
  const fees = (feePaid: string, feeHeld = '0') => ({ feePaid, feeHeld }) as Pick<LeaseAnswer, 'feePaid' | 'feeHeld'> as LeaseAnswer;

  it('sums paid and held fees per version over the leases of its tasks, leaving out other apps', () => {
    const e = earningsByVersion(app, [
      { app: 'hello', version: '0.1.0', leases: [fees('100'), fees('0', '7')] },
      { app: 'hello', version: '0.1.0', leases: [fees('0')] },
      { app: 'hello', version: '0.2.0', leases: [fees('5')] },
      { app: 'other', version: '0.1.0', leases: [fees('1000')] },
    ]);
    expect(e).toEqual([
      { version: '0.1.0', feeToken: 'ZNC', paid: 100n, held: 7n, leases: 2, tasks: 2 },
      { version: '0.2.0', feeToken: 'GPU', paid: 5n, held: 0n, leases: 1, tasks: 1 },
    ]);
  });
});

describe('zeus --version and the JSON amounts note', () => {
  it('reads -V/--version only before a command name, so app publish --version stays the app version', () => {
    expect(ZEUS_VERSION).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
    expect(asksVersion(['--version'])).toBe(true);
    expect(asksVersion(['-V'])).toBe(true);
    expect(asksVersion(['--home', '/h', '--json', '--version'])).toBe(true);
    expect(asksVersion(['--home', '--version'])).toBe(false); // a home named "--version"
    expect(asksVersion(['app', 'publish', '--version', '1.0'])).toBe(false);
    expect(asksVersion([])).toBe(false);
  });

  it('adds the note to commands that print amounts and to no other', () => {
    const program = new Command('zeus').exitOverride();
    const helpOf = (c: Command): string => {
      let out = '';
      c.configureOutput({ writeOut: (s) => (out += s) });
      c.outputHelp();
      return out;
    };
    const task = program.command('task');
    const post = task.command('post');
    const app = program.command('app');
    const init = app.command('init');
    const show = app.command('show');
    const keys = program.command('keys').command('list');
    noteJsonAmounts(program);
    expect(JSON_AMOUNTS_NOTE).toContain('1 ZNC = 10^8 base units');
    expect(helpOf(post)).toContain(JSON_AMOUNTS_NOTE);
    expect(helpOf(show)).toContain(JSON_AMOUNTS_NOTE);
    expect(helpOf(init)).not.toContain(JSON_AMOUNTS_NOTE);
    expect(helpOf(keys)).not.toContain(JSON_AMOUNTS_NOTE);
    expect(helpOf(program)).toContain(`-V, --version prints the version of zeus (${ZEUS_VERSION})`);
  });
});
