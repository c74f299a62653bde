import { expect } from 'vitest';
import { TOTAL_SUPPLY } from '../../src/ledger/index.ts';
import type { AccountAnswer, BlocksAnswer, SegmentAnswer, StatusAnswer, SupplyAnswer } from '../../src/sdk/index.ts';
import type { History, HistoryRecord } from '../faults/history.ts';
import { getJson, type Http } from '../faults/workload.ts';
import { until } from './netNodes.ts';

// The tests of the workloads (test/faults-workload*.test.ts) check a bank history against what the
// nodes hold, read directly: the blocks and accounts of every node. Deliberately not the fault runs'
// checker (test/faults/checker.ts): the workloads' tests must not lean on the code they feed.

export interface CommittedTransfer {
  hash: string;
  height: number;
  from: string;
  to: string;
  amount: bigint;
}

/**
 * Waits until every node has an empty mempool and is two heights past `after` (credit receipts land
 * a height after their transfer); returns the lowest height then.
 */
export async function settledHeight(http: Http, nodes: string[], after: number): Promise<number> {
  const s = await until(
    'every node settled',
    30_000,
    async () => {
      const all = await Promise.all(nodes.map((n) => getJson<StatusAnswer>(http, n, '/status')));
      return all.every((x) => x.mempool === 0 && x.height >= after + 2) ? all : undefined;
    },
    250,
  );
  return Math.min(...s.map((x) => x.height));
}

/** Every main block header from 1 to `top` on `node`, by height. */
export async function headers(http: Http, node: string, top: number): Promise<Map<number, BlocksAnswer['blocks'][number]>> {
  const out = new Map<number, BlocksAnswer['blocks'][number]>();
  for (let from = top; from >= 1; from -= 100)
    for (const b of (await getJson<BlocksAnswer>(http, node, `/blocks?from=${from}&limit=100`)).blocks) out.set(b.height, b);
  return out;
}

/** The transfers up to `top` on `node` whose memo starts with `prefix`, by memo. */
export async function transfersByMemo(http: Http, node: string, top: number, prefix: string): Promise<Map<string, CommittedTransfer[]>> {
  const out = new Map<string, CommittedTransfer[]>();
  for (const [h, b] of await headers(http, node, top)) {
    for (const seg of b.segments) {
      if (seg.txCount === 0) continue;
      for (const t of (await getJson<SegmentAnswer>(http, node, `/blocks/${h}/chains/${seg.chain}`)).txs) {
        const p = t.payload as { memo?: string; to?: string; amount?: string };
        if (t.kind !== 'Transfer' || !p.memo?.startsWith(prefix)) continue;
        const list = out.get(p.memo) ?? [];
        list.push({ hash: t.hash, height: h, from: String(t.from), to: String(p.to), amount: BigInt(p.amount ?? '0') });
        out.set(p.memo, list);
      }
    }
  }
  return out;
}

/**
 * The bank history against the nodes: one block hash per height on every node; every ok transfer in
 * a block exactly once, at its recorded height, as recorded; no fail one in any; no unknown one twice;
 * nothing in the blocks that the history does not hold; every account on every node at its header
 * balance plus the committed transfers; the supply exactly 10,000,000,000 ZNC on every node.
 * Returns what it found, for the test to say more.
 */
export async function checkBankAgainstNodes(
  http: (node: string) => Http,
  nodes: string[],
  history: History,
  prefix = 'bank-',
): Promise<{ top: number; inBlocks: Map<string, CommittedTransfer[]>; unknownCommitted: number }> {
  const recs = history.records.filter((r) => r.kind === 'transfer');
  const top = await settledHeight(http(nodes[0]), nodes, Math.max(0, ...recs.map((r) => r.height ?? 0)));
  const chains = await Promise.all(nodes.map((n) => headers(http(n), n, top)));
  expect(chains[0].size).toBe(top);
  for (let h = 1; h <= top; h++) expect(new Set(chains.map((c) => c.get(h)?.hash)).size, `one block at height ${h}`).toBe(1);

  const inBlocks = await transfersByMemo(http(nodes.at(-1)!), nodes.at(-1)!, top, prefix);
  const byOp = new Map<string, HistoryRecord>(recs.map((r) => [r.op, r]));
  let unknownCommitted = 0;
  for (const r of recs) {
    const found = inBlocks.get(r.op) ?? [];
    if (r.outcome === 'ok') {
      expect(found, r.op).toHaveLength(1);
      expect(found[0], r.op).toEqual({ hash: r.tx, height: r.height, from: r.from, to: r.to, amount: BigInt(r.amount ?? '-1') });
    } else if (r.outcome === 'fail') expect(found, `${r.op} failed (${r.code}) but is in a block`).toHaveLength(0);
    else {
      expect(found.length, `${r.op} unknown`).toBeLessThanOrEqual(1);
      if (found.length === 1) {
        expect(found[0].hash, `${r.op} committed under another transaction than it was sent as`).toBe(r.tx);
        unknownCommitted++;
      }
    }
  }
  for (const op of inBlocks.keys()) expect(byOp.has(op), `${op} is in a block but not in the history`).toBe(true);

  const expected = new Map(Object.entries(history.header.balances).map(([a, b]) => [a, BigInt(b)]));
  for (const list of inBlocks.values()) {
    for (const t of list) {
      expected.set(t.from, (expected.get(t.from) ?? 0n) - t.amount);
      expected.set(t.to, (expected.get(t.to) ?? 0n) + t.amount);
    }
  }
  const accounts = [...new Set(recs.flatMap((r) => [r.from, r.to!]))];
  for (const n of nodes) {
    for (const a of accounts) {
      const got = BigInt((await getJson<AccountAnswer>(http(n), n, `/accounts/${a}`)).balances.ZNC ?? '0');
      expect(got, `${a} on ${n}`).toBe(expected.get(a));
    }
    const s = await getJson<SupplyAnswer>(http(n), n, '/supply');
    expect(BigInt(s.total), `supply on ${n}`).toBe(TOTAL_SUPPLY);
  }
  return { top, inBlocks, unknownCommitted };
}
