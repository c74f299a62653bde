import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreCorruptError } from './kv.ts';
import { checkLevelTables, liveTables } from './levelTables.ts';

// LevelDB checks no block checksums when it compacts, and a table damaged so that its keys come out
// of order aborts the process that compacts it: a node restarted on such a store died without a
// word (the fault run's "damaged store tail", flip-table). checkLevelTables reads every live table's
// blocks against their checksums before LevelDB opens the store.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const P = '!table-test/';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A store whose 200 keys (512 random bytes each, which snappy leaves as they are) were compacted into a table. */
async function store(): Promise<{ dir: string; table: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-tables-'));
  dirs.push(dir);
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  await db.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `${P}${String(i).padStart(6, '0')}`, value: randomBytes(512) })));
  await db.compactRange(P, `${P}\xff`);
  // A few more writes, left in the log: the store as a node leaves it.
  await db.put(`${P}later`, randomBytes(16));
  await db.close();
  const [table] = readdirSync(dir).filter((f) => f.endsWith('.ldb'));
  return { dir, table: join(dir, table) };
}

/** Rewrites key …000150 in its table so that it reads …000140, after …000149: its block's checksum no longer holds. */
function keysOutOfOrder(table: string): void {
  const b = readFileSync(table);
  // The entry: the prefix and "0001" shared, 10 bytes not ("50" and the 8-byte sequence trailer), 512 bytes of value.
  let at = -1;
  for (let i = 0; i < b.length - 6 && at < 0; i++)
    if (b[i] === P.length + 4 && b[i + 1] === 10 && b[i + 2] === 0x80 && b[i + 3] === 0x04 && b[i + 4] === 0x35 && b[i + 5] === 0x30) at = i + 4;
  expect(at, 'the entry of key 000150 in the table').toBeGreaterThan(0);
  b[at] = 0x34;
  writeFileSync(table, b);
}

describe("the check of a LevelDB store's tables", () => {
  it('passes a sound store and counts its live tables', async () => {
    const { dir } = await store();
    const r = checkLevelTables(dir);
    expect(r.skipped).toBeUndefined();
    expect(r.tables).toBeGreaterThanOrEqual(1);
    expect(r.bytes).toBeGreaterThan(200 * 512);
  });

  it('refuses a table whose damaged block puts keys out of order, which makes a compaction abort the process', async () => {
    const { dir, table } = await store();
    keysOutOfOrder(table);
    // What the damage does to a process that compacts it (a node, before this check), on a copy.
    const copy = mkdtempSync(join(tmpdir(), 'zeus-tables-copy-'));
    dirs.push(copy);
    cpSync(dir, copy, { recursive: true });
    const compact = `import { ClassicLevel } from 'classic-level'; const db = new ClassicLevel(${JSON.stringify(copy)}); await db.open(); await db.put('${P}000150x', 'v'); await db.compactRange('', '\\u{10FFFF}');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', compact], { encoding: 'utf8', cwd: ROOT });
    expect(r.signal, r.stderr).toBe('SIGABRT');
    expect(r.stderr).toMatch(/table_builder\.cc.*Assertion/);

    expect(() => checkLevelTables(dir)).toThrow(StoreCorruptError);
    expect(() => checkLevelTables(dir)).toThrow(/LevelDB table \d{6}\.ldb: the block at \d+ fails its checksum/);
  }, 60_000);

  it('refuses a flipped byte anywhere in a table, and a table shorter than the manifest says', async () => {
    const { dir, table } = await store();
    const size = statSync(table).size;
    for (const at of [10, Math.floor(size / 2), size - 60]) {
      const b = readFileSync(table);
      b[at] ^= 0x41;
      writeFileSync(table, b);
      expect(() => checkLevelTables(dir), `byte ${at} of ${size}`).toThrow(StoreCorruptError);
      b[at] ^= 0x41;
      writeFileSync(table, b);
      expect(() => checkLevelTables(dir)).not.toThrow();
    }
    truncateSync(table, size - 64);
    expect(() => checkLevelTables(dir)).toThrow(new RegExp(`is ${size - 64} bytes; the store's manifest says ${size}`));
  });

  it('leaves alone a table the manifest does not list (half-written by a kill during a compaction), and a manifest cut short', async () => {
    const { dir } = await store();
    const live = liveTables(dir);
    expect(live).toBeInstanceOf(Map);
    writeFileSync(join(dir, '000999.ldb'), randomBytes(3000));
    expect(checkLevelTables(dir).tables).toBe((live as Map<number, number>).size);
    // A torn last record: LevelDB reads the manifest up to it, and so does the check.
    const manifest = join(dir, readFileSync(join(dir, 'CURRENT'), 'utf8').trim());
    appendFileSync(manifest, Buffer.from([1, 2, 3, 4, 200, 0, 1, 7]));
    expect(checkLevelTables(dir).tables).toBe((live as Map<number, number>).size);
  });
});
