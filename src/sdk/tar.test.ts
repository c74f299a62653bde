import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalTarBytes, scanResult } from '../worker/index.ts';
import { readTar, TarError } from './tar.ts';

// The SDK's tar reader against the worker's canonical result writer (what taskResult reads) and
// against the system's tar: names (a ustar prefix, a pax path), directories, file bytes, and the
// archives it must refuse rather than misread.

const dir = mkdtempSync(join(tmpdir(), 'zeus-sdk-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deep = `${'d'.repeat(90)}/${'e'.repeat(90)}`; // 181 bytes: ustar's prefix + name
const long = `${'f'.repeat(120)}/${'g'.repeat(120)}.txt`; // no ustar split: a pax path

function outDir(): string {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(out, deep), { recursive: true });
  mkdirSync(join(out, 'f'.repeat(120)), { recursive: true });
  writeFileSync(join(out, 'result.txt'), 'hello, Ada\n');
  writeFileSync(join(out, 'empty'), '');
  writeFileSync(
    join(out, deep, 'x.bin'),
    new Uint8Array(1000).map((_, i) => i % 251),
  );
  writeFileSync(join(out, long), 'long name');
  return out;
}

describe('readTar', () => {
  it("reads the worker's canonical result archive: every file with its bytes, directories, long paths", async () => {
    const out = outDir();
    const archive = await canonicalTarBytes(scanResult(out, 1 << 20));
    const entries = readTar(new Uint8Array(archive));
    const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.name, e.bytes]));
    expect([...files.keys()].sort()).toEqual(['out/empty', `out/${deep}/x.bin`, `out/${long}`, 'out/result.txt'].sort());
    expect(new TextDecoder().decode(files.get('out/result.txt'))).toBe('hello, Ada\n');
    expect(files.get(`out/${deep}/x.bin`)).toEqual(new Uint8Array(readFileSync(join(out, deep, 'x.bin'))));
    expect(new TextDecoder().decode(files.get(`out/${long}`))).toBe('long name');
    expect(files.get('out/empty')?.length).toBe(0);
    expect(entries.filter((e) => e.type === 'directory').map((e) => e.name)).toContain(`out/${'d'.repeat(90)}/`);
  });

  it('reads what the system tar writes', () => {
    const out = outDir();
    const file = join(dir, 'sys.tar');
    const r = spawnSync('tar', ['--format=pax', '-cf', file, '-C', out, '.'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = new Map(
      readTar(new Uint8Array(readFileSync(file)))
        .filter((e) => e.type === 'file')
        .map((e) => [e.name, new TextDecoder().decode(e.bytes)]),
    );
    expect(files.get('./result.txt')).toBe('hello, Ada\n');
    expect(files.get(`./${long}`)).toBe('long name');
  });

  it('refuses a damaged header, a truncated entry and a symbolic link', async () => {
    const archive = new Uint8Array(await canonicalTarBytes(scanResult(outDir(), 1 << 20)));
    const damaged = archive.slice();
    damaged[10] ^= 1;
    expect(() => readTar(damaged)).toThrow(TarError);
    expect(() => readTar(archive.subarray(0, archive.length - 2048 - 512))).toThrow(/ends inside an entry|512-byte blocks/);
    const link = join(dir, 'link.tar');
    const src = join(dir, 'linked');
    mkdirSync(src);
    spawnSync('ln', ['-s', 'nowhere', join(src, 'l')]);
    expect(spawnSync('tar', ['-cf', link, '-C', src, 'l']).status).toBe(0);
    expect(() => readTar(new Uint8Array(readFileSync(link)))).toThrow(/type "2"/);
  });
});
