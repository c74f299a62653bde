import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DoubleSignError, SIGNER_KEY, SigningGuard } from '../consensus/index.ts';
import { FileRecordStore } from './fileRecords.ts';
import { LevelKvStore } from './kv.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'zeus-file-records-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const hash = (b: number): Uint8Array => new Uint8Array(32).fill(b);

describe('the file record store', () => {
  it('keeps each record in a file of its own, replaced whole', async () => {
    const dir = tempDir();
    const s = new FileRecordStore(join(dir, 'signer'));
    expect(await s.get('consensus/signer')).toBeUndefined();
    await s.write([{ key: 'consensus/signer', value: Uint8Array.of(1, 2, 3) }], true);
    await s.write([{ key: 'consensus/signer', value: Uint8Array.of(4, 5) }], true);
    expect(await s.get('consensus/signer')).toEqual(Uint8Array.of(4, 5));
    expect(readdirSync(join(dir, 'signer'))).toEqual(['consensus%2Fsigner']);
    const seen: string[] = [];
    for await (const [k] of s.entries('consensus/')) seen.push(k);
    expect(seen).toEqual(['consensus/signer']);
    await expect(s.write([{ key: 'consensus/signer', value: null }])).rejects.toThrow(/never deleted/);
  });
});

describe("the signing guard's record outside the chain's store", () => {
  it('survives the loss of the chain store (moved aside to resync, or its last write lost): a second proposal at the same height and round is still refused', async () => {
    // The 60-minute fault run of seed 2026: a byte flipped in the last record of a bookkeeper's
    // LevelDB log took the guard's record with it, and the restarted bookkeeper signed a second
    // proposal for height 2,105, round 0. Kept in the chain's store, the guard below would allow B.
    const home = tempDir();
    let chain = await LevelKvStore.open(join(home, 'data'));
    let guard = await SigningGuard.open(new FileRecordStore(join(home, 'signer')), undefined, chain);
    await guard.authorize(2105, 0, 'proposal', hash(0xa));
    expect(await chain.get(SIGNER_KEY)).toBeUndefined();
    await chain.close();

    renameSync(join(home, 'data'), join(home, 'data.damaged'));
    chain = await LevelKvStore.open(join(home, 'data'));
    guard = await SigningGuard.open(new FileRecordStore(join(home, 'signer')), undefined, chain);
    await expect(guard.authorize(2105, 0, 'proposal', hash(0xb))).rejects.toThrow(DoubleSignError);
    await guard.authorize(2105, 0, 'proposal', hash(0xa)); // the same one again is a repeat
    await chain.close();
  });

  it("carries over a record an older node kept in the chain's store", async () => {
    const home = tempDir();
    const chain = await LevelKvStore.open(join(home, 'data'));
    const old = await SigningGuard.open(chain);
    await old.authorize(40, 1, 'prevote', hash(1));
    const guard = await SigningGuard.open(new FileRecordStore(join(home, 'signer')), undefined, chain);
    expect(existsSync(join(home, 'signer', 'consensus%2Fsigner'))).toBe(true);
    await expect(guard.authorize(40, 1, 'prevote', hash(2))).rejects.toThrow(DoubleSignError);
    await chain.close();
  });
});
