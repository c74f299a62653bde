import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleBuilding, takeBuildLock } from './consoleBuild.ts';

// The console's build lock (one build per checkout). A node killed during the build used to leave
// the lock for 5 minutes: the next start neither built the console nor served it ("being built").

const dir = mkdtempSync(join(tmpdir(), 'zeus-console-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('the console build lock', () => {
  it('is taken once, with its owner pid, and held while the owner lives', () => {
    const lock = join(dir, 'a', 'web.lock');
    expect(takeBuildLock(lock)).toBe(true);
    expect(readFileSync(join(lock, 'pid'), 'utf8')).toBe(String(process.pid));
    expect(takeBuildLock(lock)).toBe(false);
    expect(consoleBuilding(lock)).toBe(true);
  });

  it('left by a process that is gone, it is not "building" and the next process takes it at once', () => {
    const lock = join(dir, 'b', 'web.lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), String(deadPid()));
    expect(consoleBuilding(lock)).toBe(false);
    expect(takeBuildLock(lock)).toBe(true);
    expect(readFileSync(join(lock, 'pid'), 'utf8')).toBe(String(process.pid));
    expect(readdirSync(join(dir, 'b'))).toEqual(['web.lock']);
  });

  it('just made, before its pid is written, it is held', () => {
    const lock = join(dir, 'c', 'web.lock');
    mkdirSync(lock, { recursive: true });
    expect(consoleBuilding(lock)).toBe(true);
    expect(takeBuildLock(lock)).toBe(false);
  });
});
