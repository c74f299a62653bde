import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { revealAction } from './leaseMachine.ts';
import { REVEAL_NOTE, revealFields, RevealNotes, type PendingReveal } from './revealNotes.ts';

// A commitment written down before it is sent is revealed by the agent that comes after a crash:
// what it sends then is read back from the lease's directory alone.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function leases(): string {
  const d = mkdtempSync(join(tmpdir(), 'zeus-reveal-'));
  dirs.push(d);
  return d;
}
const TASK = 'cd'.repeat(32);
const salt = 'ee'.repeat(32);

describe('reveal notes across a restart', () => {
  it('a committed result is revealed by the next agent with the same salt and digest, then forgotten with its archive', () => {
    const root = leases();
    const files = join(root, `${TASK}-1`);
    mkdirSync(files);
    const tar = join(files, 'result.tar');
    writeFileSync(tar, 'archive');
    const p: PendingReveal = { task: TASK, lease: 1, salt, digest: `sha256:${'a'.repeat(64)}`, tar: { file: tar, digest: `sha256:${'a'.repeat(64)}` } };
    new RevealNotes(root).add(files, p);

    // The agent died here; the next one starts with nothing in memory.
    const next = new RevealNotes(root);
    const lines: string[] = [];
    next.load((l) => lines.push(l));
    const [[file, found]] = next.pending();
    expect(found).toEqual(p);
    expect(revealAction(`${TASK.slice(0, 12)}…/1`, { state: 'completed', resultDigest: '', revealBy: 90, outcome: '' })).toEqual({ do: 'reveal' });
    expect(revealFields(found)).toEqual({ digest: p.digest, appOutcome: false, exitCode: 0, oomKilled: false, cause: '', logDigest: '' });
    next.forget(file);
    expect(existsSync(join(files, REVEAL_NOTE))).toBe(false);
    expect(existsSync(tar)).toBe(false);
    const third = new RevealNotes(root);
    third.load((l) => lines.push(l));
    expect(third.pending()).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('reveals a committed app outcome as the outcome, not a digest', () => {
    const root = leases();
    const files = join(root, `${TASK}-0`);
    mkdirSync(files);
    new RevealNotes(root).add(files, {
      task: TASK,
      lease: 0,
      salt,
      digest: 'sha256:outcome',
      outcome: { exitCode: 0, oomKilled: true, cause: 'memory', logDigest: 'sha256:log' },
    });
    const next = new RevealNotes(root);
    next.load(() => undefined);
    expect(revealFields(next.pending()[0][1])).toEqual({
      digest: '',
      appOutcome: true,
      exitCode: 0,
      oomKilled: true,
      cause: 'memory',
      logDigest: 'sha256:log',
    });
  });

  it('says which note cannot be read, and takes up the others', () => {
    const root = leases();
    mkdirSync(join(root, 'a-0'));
    mkdirSync(join(root, 'b-1'));
    writeFileSync(join(root, 'a-0', REVEAL_NOTE), '{"task":');
    new RevealNotes(root).add(join(root, 'b-1'), { task: TASK, lease: 1, salt, digest: 'sha256:x' });
    const next = new RevealNotes(root);
    const lines: string[] = [];
    next.load((l) => lines.push(l));
    expect(next.pending().map(([, p]) => p.lease)).toEqual([1]);
    expect(lines[0]).toMatch(/a-0\/reveal\.json: unreadable .*; that commitment cannot be revealed/);
  });
});
