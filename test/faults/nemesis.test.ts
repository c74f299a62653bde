import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelKvStore } from '../../src/store/index.ts';
import { corruptLevelDb, lastLogRecord } from './nemesis.ts';

// The nemesis's disk faults on a LevelDB store in this process (no node): what each one damages,
// and what LevelDB itself makes of it on the next open. The node's answer to the same damage is in
// test/faults-nemesis-node.test.ts.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const key = (i: number): string => `k/${String(i).padStart(4, '0')}`;

/** A store of `n` synced writes of 300 random bytes each; `reopen` first turns the log into a table. */
async function filled(n: number, reopen = false): Promise<{ dir: string; values: Map<string, Buffer> }> {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-nemesis-ldb-'));
  dirs.push(dir);
  const values = new Map<string, Buffer>();
  let kv = await LevelKvStore.open(dir);
  for (let i = 0; i < n; i++) {
    const v = randomBytes(300);
    values.set(key(i), v);
    await kv.write([{ key: key(i), value: v }], true);
  }
  await kv.close();
  if (reopen) {
    // Opening replays the log into a level-0 table.
    kv = await LevelKvStore.open(dir);
    await kv.close();
  }
  return { dir, values };
}

async function readAll(dir: string): Promise<Map<string, Buffer>> {
  const kv = await LevelKvStore.open(dir);
  try {
    const out = new Map<string, Buffer>();
    for await (const [k, v] of kv.entries('k/')) out.set(k, Buffer.from(v));
    return out;
  } finally {
    await kv.close();
  }
}

describe('the nemesis damages the last write of a LevelDB store', () => {
  it('finds the last record of a write-ahead log, across its 32 KiB blocks', () => {
    // Two records: 10 bytes, then one of 40,000 bytes that spans two blocks (first + last fragments).
    const header = (len: number, type: number): number[] => [0, 0, 0, 0, len & 0xff, len >> 8, type];
    const first = [...header(10, 1), ...new Array(10).fill(7)];
    const spanLen = 32_768 - first.length - 7;
    const buf = Uint8Array.from([...first, ...header(spanLen, 2), ...new Array(spanLen).fill(8), ...header(100, 4), ...new Array(100).fill(9)]);
    expect(lastLogRecord(buf)).toEqual({ offset: first.length + 7, length: spanLen });
    expect(lastLogRecord(Uint8Array.from(first))).toEqual({ offset: 7, length: 10 });
    expect(lastLogRecord(new Uint8Array(0))).toBeUndefined();
  });

  it('truncate-log and flip-log lose the last write and nothing else (LevelDB drops a torn or bad record)', async () => {
    for (const mode of ['truncate-log', 'flip-log'] as const) {
      const { dir, values } = await filled(150);
      const r = corruptLevelDb(dir, mode);
      if (mode === 'truncate-log') expect(r.sizeAfter).toBeLessThan(r.sizeBefore);
      else expect(r.flipped).toHaveLength(1);
      const read = await readAll(dir);
      expect(read.size).toBe(149);
      expect(read.has(key(149))).toBe(false);
      for (const [k, v] of read) expect(v.equals(values.get(k)!)).toBe(true);
    }
  });

  it('flip-table changes a value that LevelDB returns without a word (it verifies no checksum on reads)', async () => {
    const { dir, values } = await filled(150, true);
    corruptLevelDb(dir, 'flip-table');
    const read = await readAll(dir);
    // Four bytes mid-file are nearly always in a value (300 bytes) rather than a key (6): either way
    // what comes back differs from what was written, and no error says so.
    const changed = [...read].filter(([k, v]) => !values.get(k)?.equals(v));
    expect(changed.length).toBeGreaterThan(0);
  });

  it('damages the table when the log holds no record (a store reopened and stopped before its next write), and the log when there is no table', async () => {
    // The soak of seed 2026 stopped 40 minutes in on exactly this: flip-log on a log the store had just compacted.
    const { dir, values } = await filled(150, true);
    const r = corruptLevelDb(dir, 'flip-log');
    expect(r.mode).toBe('flip-table');
    expect(r.file.endsWith('.ldb')).toBe(true);
    const changed = [...(await readAll(dir))].filter(([k, v]) => !values.get(k)?.equals(v));
    expect(changed.length).toBeGreaterThan(0);
    const fresh = await filled(20);
    const t = corruptLevelDb(fresh.dir, 'truncate-table');
    expect(t.mode).toBe('truncate-log');
    expect((await readAll(fresh.dir)).size).toBe(19);
  });

  it('truncate-table makes the store fail on open or on read', async () => {
    const { dir } = await filled(150, true);
    corruptLevelDb(dir, 'truncate-table');
    await expect(readAll(dir)).rejects.toThrow();
  });
});
