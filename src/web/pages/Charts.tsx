import { useEffect, useRef, useState } from 'react';
import { LineChart, type Series } from '../components/LineChart.tsx';
import { Card, Stat } from '../components/ui.tsx';
import { tpsSeries, useFeed } from '../data/events.ts';
import { zncForChart } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import type { WorkerAnswer } from '../data/sdk.ts';

// Throughput, finality and prices over time: transactions per second from the committed blocks,
// how long a transaction takes from the node's mempool to its final block (and a block from its
// proposal to its commit), the workers' asking prices per resource, and the prices leases got.

/** Asking prices sampled while the console is open, kept in this browser per chain. */
type AskPoint = { t: number; cpu: number; mem: number; gpu: number | null };
const ASKS_KEY = 'zeusnet.asks.v1';
let askChain = '';
let askHistory: AskPoint[] = [];

function loadAsks(chainId: string): void {
  if (askChain === chainId) return;
  askChain = chainId;
  try {
    const s = JSON.parse(localStorage.getItem(ASKS_KEY) ?? 'null') as { chainId: string; points: AskPoint[] } | null;
    askHistory = s && s.chainId === chainId ? s.points : [];
  } catch {
    askHistory = [];
  }
}

function median(xs: bigint[]): bigint | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor((s.length - 1) / 2)];
}

function sampleAsks(workers: WorkerAnswer[]): void {
  const active = workers.filter((w) => w.active);
  if (active.length === 0) return;
  const cpu = median(active.map((w) => BigInt(w.prices.cpuCoreHour)));
  const mem = median(active.map((w) => BigInt(w.prices.memoryGiBHour)));
  const gpus = active.filter((w) => w.gpus.length > 0);
  const gpu = median(gpus.map((w) => BigInt(w.prices.gpuHour)));
  const last = askHistory[askHistory.length - 1];
  const point = { t: Date.now(), cpu: zncForChart(cpu ?? 0n), mem: zncForChart(mem ?? 0n), gpu: gpu === null ? null : zncForChart(gpu) };
  if (last && last.cpu === point.cpu && last.mem === point.mem && last.gpu === point.gpu && point.t - last.t < 30_000) return;
  askHistory.push(point);
  if (askHistory.length > 2000) askHistory.splice(0, askHistory.length - 2000);
  localStorage.setItem(ASKS_KEY, JSON.stringify({ chainId: askChain, points: askHistory }));
}

const ms = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

export function Charts() {
  const feed = useFeed();
  const status = useLoad(() => client.status(), [], {});
  const workers = useLoad(() => client.workers(), [], { live: true, minMs: 3000 });
  const leases = useLoad(() => client.leases({ limit: 1000 }), [], { live: true, minMs: 3000 });
  const seen = useRef<unknown>(undefined);
  const [, redraw] = useState(0);
  useEffect(() => {
    if (workers.data && status.data && workers.data !== seen.current) {
      seen.current = workers.data;
      loadAsks(status.data.chainId);
      sampleAsks(workers.data.workers);
      redraw((n) => n + 1); // a quiet chain commits no block to redraw the page
    }
  }, [workers.data, status.data]);

  const tps = tpsSeries(feed.blocks);
  const commit = feed.blocks.filter((b) => Number.isFinite(b.receivedAt)).map((b) => ({ t: b.receivedAt, v: Math.max(0, b.receivedAt - b.time) }));
  const finality = feed.finality.map((f) => ({ t: f.at, v: f.ms }));
  const timeOf = new Map(feed.blocks.map((b) => [b.height, b.time]));
  const leasePrices = (leases.data?.leases ?? [])
    .map((l) => ({ t: l.startedAt ?? timeOf.get(l.matchedAt) ?? NaN, v: zncForChart(l.price) }))
    .filter((p) => Number.isFinite(p.t));
  const asks: Series[] = [
    { name: 'CPU core-hour (median ask)', color: '#2f6fde', points: askHistory.map((p) => ({ t: p.t, v: p.cpu })), step: true },
    { name: 'memory GiB-hour', color: '#17a673', points: askHistory.map((p) => ({ t: p.t, v: p.mem })), step: true },
  ];
  if (askHistory.some((p) => p.gpu !== null)) {
    asks.push({ name: 'GPU-hour', color: '#d9822b', points: askHistory.filter((p) => p.gpu !== null).map((p) => ({ t: p.t, v: p.gpu! })), step: true });
  }
  const avg = (xs: { v: number }[]): number => (xs.length ? xs.reduce((s, x) => s + x.v, 0) / xs.length : NaN);
  const recentFinality = finality.slice(-50);
  return (
    <>
      <div className="page-head">
        <h1>Charts</h1>
      </div>
      <div className="stats">
        <Stat label="Transactions/s now">{tps.length ? tps[tps.length - 1].v.toFixed(1) : '—'}</Stat>
        <Stat label="Finality (last 50 txs)">{recentFinality.length ? ms(avg(recentFinality)) : '—'}</Stat>
        <Stat label="Block commit latency">{commit.length ? ms(avg(commit.slice(-50))) : '—'}</Stat>
        <Stat label="Blocks seen">{feed.blocks.length}</Stat>
      </div>
      <div className="two-col">
        <Card title="Committed transactions per second">
          <LineChart
            id="tps"
            label="Committed transactions per second"
            unit="tx/s"
            series={[{ name: 'all ten chains, 5 s window', color: '#2f6fde', points: tps }]}
            empty="Waiting for blocks…"
          />
        </Card>
        <Card title="Finality latency">
          <LineChart
            id="finality"
            label="Finality latency"
            unit=""
            format={ms}
            series={[
              { name: 'transaction: mempool → final', color: '#7a4cd9', points: finality, dots: true },
              { name: 'block: proposed → final', color: '#17a673', points: commit },
            ]}
            empty="Waiting for transactions…"
          />
        </Card>
        <Card title="Asking prices per resource (ZNC)">
          <LineChart id="asks" label="Asking prices per resource" unit="ZNC" series={asks} empty="No active worker yet" />
        </Card>
        <Card title="Lease prices (ZNC per hour)">
          <LineChart
            id="leases"
            label="Lease prices"
            unit="ZNC/h"
            series={[{ name: 'price of each lease', color: '#d9822b', points: leasePrices, dots: true }]}
            empty="No lease yet"
          />
        </Card>
      </div>
    </>
  );
}
