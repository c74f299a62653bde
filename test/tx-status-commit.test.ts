import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TxStatusAnswer } from '../src/sdk/wire.ts';
import { api, cleanup, initDevHome, loadDevKeys, nextNonce, signTransfer, startNode, type DevHome, type NamedKey } from './helpers/processes.ts';

// GET /txs/{hash} of a transaction on its way from the mempool into a block, against a real node.
// The answer read the store (async) and then the mempool: a commit that landed in between had
// taken the transaction out of the mempool after the store had been read, and the node answered
// 404 UNKNOWN_TX for a transaction it had just committed. A client following it (the SDK's
// submitUntilFinal) then gives the same bytes to another node; a browser logs a failed request.

let h: DevHome;
let url: string;
let k: Record<string, NamedKey>;

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: 100, prefix: 'zeus-txstatus-' });
  ({ url } = await startNode(h.home));
  k = loadDevKeys(h.home, ['alice', 'bob', 'carol', 'dave']);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

describe('the status of a transaction while it commits', () => {
  it('goes from pending to committed and is never unknown in between', async () => {
    const senders = ['alice', 'bob', 'carol'] as const;
    const unknownAfterPending: string[] = [];
    let polls = 0;
    // Rounds of transfers, each followed by pollers that ask as fast as the node answers.
    for (let round = 0; round < 6; round++) {
      const txs = await Promise.all(
        senders.map(async (s) => {
          const probe = signTransfer(k[s], { chainId: h.chainId, to: k.dave.address, amount: 1n, nonce: 0n });
          const nonce = await nextNonce(url, k[s].address, probe.chain);
          return signTransfer(k[s], { chainId: h.chainId, to: k.dave.address, amount: BigInt(100 + round), nonce });
        }),
      );
      for (const t of txs) {
        const r = await api(url, 'POST', '/txs', { tx: t.hex });
        expect(r.status, r.text).toBe(202);
      }
      await Promise.all(
        txs.flatMap((t) =>
          // Several pollers per transaction, so that some request is in flight when its block commits.
          Array.from({ length: 4 }, async () => {
            let seenPending = false;
            const deadline = Date.now() + 20_000;
            while (Date.now() < deadline) {
              const r = await api<TxStatusAnswer>(url, 'GET', `/txs/${t.hash}`);
              polls++;
              if (r.status === 404) {
                if (seenPending) unknownAfterPending.push(`${t.hash.slice(0, 12)} after pending (round ${round})`);
                continue;
              }
              expect(r.status, r.text).toBe(200);
              if (r.json.status === 'pending') seenPending = true;
              else {
                expect(r.json.status).toBe('committed');
                return;
              }
            }
            throw new Error(`${t.hash} not committed within 20 s`);
          }),
        ),
      );
    }
    expect(polls).toBeGreaterThan(100);
    expect(unknownAfterPending, `${unknownAfterPending.length} of ${polls} polls answered 404 UNKNOWN_TX for a transaction that was pending`).toEqual([]);
  }, 120_000);
});
