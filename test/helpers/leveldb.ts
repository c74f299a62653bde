import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { expect } from 'vitest';

// Damage to a node's LevelDB store where nothing reads it at start (test/store-damage.test.ts,
// test/deploy-service.test.ts). The nemesis's damage to the last write is in test/faults/nemesis.ts.

// Sorts before every key a node uses: no scan of the node's seeks into its table.
export const MARK = '!damage-test/';

/**
 * Writes keys no node reads into a table file of their own below level 0 (compacted there), and
 * returns that file. Every iterator opens all level-0 tables, so damage there shows at the first
 * scan; a deeper table is opened only by a read of its key range, as bk1's was.
 */
export async function tableOfOwnKeys(dir: string): Promise<string> {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.ldb')));
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  // Random values: snappy leaves them as they are, so the table is large and its keys readable in it.
  await db.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `${MARK}${String(i).padStart(6, '0')}`, value: randomBytes(512) })));
  await db.compactRange(MARK, `${MARK}\xff`);
  await db.close();
  const fresh = readdirSync(dir).filter((f) => f.endsWith('.ldb') && !before.has(f) && readFileSync(join(dir, f)).includes(Buffer.from(MARK)));
  expect(fresh, 'the marked keys are in a table file of their own').toHaveLength(1);
  return join(dir, fresh[0]);
}

/** Cuts the last 64 bytes of a table (its footer and index): what nemesis truncate-table does. */
export function truncateTable(file: string): void {
  truncateSync(file, statSync(file).size - 64);
}
