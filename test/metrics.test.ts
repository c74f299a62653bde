import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, zeus as zeusIn } from './helpers/processes.ts';

// Scrapes /metrics of a two-bookkeeper devnet (separate processes over libp2p) before and after
// some activity: the numbers must move with what the devnet does, and agree with /status.

const dir = mkdtempSync(join(tmpdir(), 'zeus-metrics-'));
const devnet = join(dir, 'net');
let urls: string[] = [];

beforeAll(() => {
  const r = zeusIn(join(dir, 'unused'), 'devnet', 'start', '--workers', '0', '--dir', devnet, '--validators', '2', '--block-time', '250');
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  urls = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes.map((n) => n.api);
}, 120_000);

afterAll(() => {
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  rmSync(dir, { recursive: true, force: true });
});

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
async function scrape(url: string): Promise<{ contentType: string; samples: Map<string, number> }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { contentType: res.headers.get('content-type') ?? '', samples };
}

const committed = (s: Map<string, number>): number => [...s].filter(([k]) => k.startsWith('zeus_transactions_committed_total')).reduce((a, [, v]) => a + v, 0);

describe('metrics', () => {
  it('each node exposes its height, peers, rounds, commit latency and committed transactions, and they move with the devnet', async () => {
    const before = await scrape(urls[0]);
    expect(before.contentType).toMatch(/^text\/plain/);
    expect(before.samples.get('zeus_peers')).toBeGreaterThanOrEqual(1);
    expect(before.samples.has('zeus_consensus_round')).toBe(true);
    expect(before.samples.has('zeus_ddn_served_bytes')).toBe(true);
    expect(before.samples.has('zeus_process_resident_memory_bytes')).toBe(true);

    const home = join(devnet, 'node0');
    for (let i = 0; i < 3; i++) {
      const t = zeusIn(home, '--node', urls[0], 'transfer', '--from', 'alice', '--to', 'bob', '--amount', '1', '--wait');
      expect(t.code, t.err).toBe(0);
    }
    let after = await scrape(urls[1]);
    // The other node committed the same transactions (it hears of them as blocks, not as submissions).
    await waitFor(async () => committed((after = await scrape(urls[1])).samples) >= committed(before.samples) + 3, 10_000, 'node1 to count the transfers');
    const status = (await (await fetch(`${urls[1]}/status`)).json()) as { height: number };
    expect(after.samples.get('zeus_height')).toBeGreaterThanOrEqual(before.samples.get('zeus_height')!);
    expect(Math.abs(after.samples.get('zeus_height')! - status.height)).toBeLessThanOrEqual(2);
    const blocks = after.samples.get('zeus_blocks_committed_total')!;
    expect(blocks).toBeGreaterThan(0);
    // Every committed block was timed; the devnet's blocks come every 250 ms, so most commit within a second.
    expect(after.samples.get('zeus_commit_latency_seconds_count')).toBe(blocks);
    expect(after.samples.get('zeus_commit_latency_seconds_bucket{le="1"}')! / blocks).toBeGreaterThan(0.5);
    expect(after.samples.get('zeus_mempool_transactions')).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
