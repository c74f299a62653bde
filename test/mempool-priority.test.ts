import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../src/crypto/index.ts';
import { decodeTx, signTx, TxKind, ZNC_UNIT } from '../src/ledger/index.ts';
import { encodeTxBatch } from '../src/sdk/index.ts';
import type { AccountAnswer, ErrorAnswer, StatusAnswer, SubmitBatchAnswer, TxStatusAnswer } from '../src/sdk/wire.ts';
import { api, batchOutcomes, cleanup, initDevHome, loadDevKeys, nextNonce, startNode, waitFor, type DevHome, type NamedKey } from './helpers/processes.ts';

// Transactions cost no fee and a fresh key costs nothing, so one person can send from as many
// accounts as they like (each with its free quota) and fill every node's mempool: an honest sender
// would then be refused for as long as the flood goes on. Against a real node process whose pool
// holds 40 (`mempoolMax`), at most 20 of them from senders without stake (`mempoolFreeMax`):
// - 45 transactions from 45 fresh, unfunded keys take the 20 free places; the rest are refused
//   MEMPOOL_FULL, and once the free places are taken more are refused before their signatures are
//   checked;
// - a staked sender (1,000 ZNC, one stake unit) is still admitted, and its transaction comes first
//   in the next block, before the flood that arrived earlier;
// - an unstaked sender is refused with a message that says how to get priority.

let h: DevHome;
let url: string;
let k: Record<string, NamedKey>;
const octets = { 'content-type': 'application/octet-stream' };

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: 3000, prefix: 'zeus-priority-' });
  const configFile = join(h.home, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  config.mempoolMax = 40;
  config.mempoolFreeMax = 20;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  ({ url } = await startNode(h.home));
  k = loadDevKeys(h.home, ['alice', 'bob', 'carol']);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

const height = async (): Promise<number> => (await api<StatusAnswer>(url, 'GET', '/status')).json.height;

async function signatureChecks(): Promise<number> {
  const text = (await api(url, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith('zeus_tx_signature_checks_total'));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

/** A delegation withdrawn: a transaction any key can send, funded or not (it routes to main). */
function delegation(key: { publicKey: Uint8Array; secretKey: Uint8Array }, nonce = 0n): Uint8Array {
  return signTx(key, { chainId: h.chainId, kind: TxKind.Delegate, nonce, payload: { proxy: new Uint8Array(0) } });
}

async function submit(txs: Uint8Array[]): Promise<string[]> {
  const r = await api<SubmitBatchAnswer>(url, 'POST', '/txs', encodeTxBatch(txs), octets);
  expect(r.status, r.text).toBeLessThan(300);
  return batchOutcomes(r.json.results);
}

describe('a mempool flooded by fresh accounts', () => {
  it('keeps room and block space for staked senders', async () => {
    // carol stakes one stake unit (1,000 ZNC): the receipt reaches main a height later.
    const stakeChain = decodeTx(signTx(k.carol, { chainId: h.chainId, kind: TxKind.Stake, nonce: 0n, payload: { amount: 1n } })).chain;
    const stakeNonce = await nextNonce(url, k.carol.address, stakeChain);
    const stake = signTx(k.carol, { chainId: h.chainId, kind: TxKind.Stake, nonce: stakeNonce, payload: { amount: 1_000n * ZNC_UNIT } });
    expect(await submit([stake])).toEqual(['pending']);
    await waitFor(
      async () => (await api<AccountAnswer>(url, 'GET', `/accounts/${k.carol.address}`)).json.staked === String(1_000n * ZNC_UNIT),
      20_000,
      "carol's stake on main",
      20,
    );
    // Just after the height that applied the stake: the node's next block is an interval (3 s)
    // away, and the checks below take a fraction of it (the last one makes sure).
    const at = await height();

    const fresh = Array.from({ length: 50 }, () => generateKeyPair());
    const flood = fresh.slice(0, 45).map((key) => delegation(key));
    const outcomes = await submit(flood);
    expect(outcomes.filter((o) => o === 'pending')).toHaveLength(20);
    expect(outcomes.slice(20).every((o) => o === 'MEMPOOL_FULL')).toBe(true);

    // The free places taken, more from fresh keys cost the node no signature check.
    const checked = await signatureChecks();
    const more = await api<ErrorAnswer>(url, 'POST', '/txs', delegation(fresh[45]), octets);
    expect(more.status, more.text).toBe(503);
    expect(more.json.error.code).toBe('MEMPOOL_FULL');
    expect(more.json.error.message).toMatch(/without priority.*stake at least 1000 ZNC/);
    expect(await signatureChecks()).toBe(checked);

    // The staked sender is admitted; an unstaked funded one is told how to get priority.
    const mainNonce = await nextNonce(url, k.carol.address, 0);
    const staked = delegation(k.carol, mainNonce);
    expect(await submit([staked])).toEqual(['pending']);
    const bobNonce = await nextNonce(url, k.bob.address, 0);
    expect(await submit([delegation(k.bob, bobNonce)])).toEqual(['MEMPOOL_FULL']);
    expect(await height(), 'a height committed during the checks: the test would not show what it means to').toBe(at);

    // The next block takes carol's first, although the flood came before it.
    const stakedHash = decodeTx(staked).hashHex;
    let st: TxStatusAnswer | undefined;
    await waitFor(
      async () => (st = (await api<TxStatusAnswer>(url, 'GET', `/txs/${stakedHash}`)).json).status === 'committed',
      10_000,
      "carol's transaction committed",
    );
    expect(st!.chain).toBe(0);
    expect(st!.index).toBe(0);
    const first = (await api<TxStatusAnswer>(url, 'GET', `/txs/${decodeTx(flood[0]).hashHex}`)).json;
    expect(first.status).toBe('committed');
    expect(first.height).toBe(st!.height);
    expect(first.index).toBe(1);
  });
});
