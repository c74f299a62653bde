import { afterAll, describe, expect, it } from 'vitest';
import { commitNext } from '../node/testing.ts';
import { testChain } from '../ledger/testing.ts';
import { ZeusNode } from '../node/index.ts';
import { MemoryKvStore } from '../store/index.ts';
import { createApi } from './server.ts';

// GET /supply scans every account of every chain (a public node may hold millions), GET /tasks and
// /leases every task or lease ever posted. They used to do so on every request, on the node's main
// thread: anyone (or a thousand open consoles) could keep a node scanning. Their answers can change
// only when a height commits, so each is computed at most once per height and query.

const t = testChain();
const config = { chainId: t.genesis.chainId, api: { host: '127.0.0.1', port: 0 }, blockIntervalMs: 100, bookkeeperKey: 'bookkeeper-0', mempoolMax: 1_000 };
const key = t.keys['bookkeeper-0'];
const closing: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close();
});

describe('answers that read a whole collection', () => {
  it('scans the accounts once per committed height, however often it is asked', async () => {
    const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, config, key);
    closing.push(() => node.close());
    const app = await createApi(node, { host: '127.0.0.1', port: 0 });
    closing.push(() => app.close());
    let scans = 0;
    const supply = node.reader.supply;
    (node.reader as { supply: typeof supply }).supply = () => {
      scans++;
      return supply();
    };
    const ask = async (): Promise<{ total: string }> => (await app.inject('/supply')).json();
    const answers = await Promise.all(Array.from({ length: 50 }, ask));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0].total).toBe('1000000000000000000');
    expect(scans).toBe(1);
    // A committed height: the next request scans again, once.
    await commitNext(node, node.ledger.time + 1000, [key]);
    await Promise.all(Array.from({ length: 20 }, ask));
    expect(scans).toBe(2);

    // The task and lease lists: once per query and height.
    let taskScans = 0;
    const tasks = node.reader.tasks;
    (node.reader as { tasks: typeof tasks }).tasks = () => {
      taskScans++;
      return tasks();
    };
    const list = async (q: string): Promise<number> => (await app.inject(`/tasks${q}`)).statusCode;
    const queries = ['', '?state=open', '?limit=5', '', '?state=open'];
    expect(await Promise.all(Array.from({ length: 40 }, (_, i) => list(queries[i % queries.length])))).toEqual(Array(40).fill(200));
    expect(taskScans).toBe(3);
  });

  it('refuses 429 TOO_MANY_SCANS a client that spent its computing time on queries nobody else asked; cached answers and other clients are served', async () => {
    const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, config, key);
    closing.push(() => node.close());
    // A budget any computation spends (a thousandth of a millisecond).
    const app = await createApi(node, { host: '127.0.0.1', port: 0, scanMsPerSecond: 0.001, scanBurstMs: 0.001 });
    closing.push(() => app.close());
    const ask = (path: string, remoteAddress = '203.0.113.7') => app.inject({ url: path, remoteAddress });
    expect((await ask('/tasks?limit=1')).statusCode).toBe(200);
    const refused = await ask('/tasks?limit=2');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('TOO_MANY_SCANS');
    expect((await ask('/supply')).statusCode).toBe(429);
    // The answer already computed at this height is served to it; another client computes its own.
    expect((await ask('/tasks?limit=1')).statusCode).toBe(200);
    expect((await ask('/tasks?limit=2', '198.51.100.9')).statusCode).toBe(200);
    expect((await ask('/metrics')).body).toMatch(/zeus_api_listings_refused_total 2/);
  });
});
