import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerAgent } from './agent.ts';

// Prometheus metrics of a running worker agent, served by its admin endpoint at /metrics (with
// the same bearer token: Prometheus sends it with `authorization.credentials_file`). Read from
// the agent when scraped: what it runs now and what it has done since it started. Money is the
// chain's business (`zeus worker status`), not a metric the agent could get wrong.

export function workerMetrics(agent: Pick<WorkerAgent, 'snapshot' | 'counts'>): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'zeus_worker_' });
  new Gauge({
    name: 'zeus_worker_leases_running',
    help: 'Leases whose workload this agent runs now',
    registers: [r],
    collect() {
      this.set(agent.snapshot().leases.length);
    },
  });
  new Gauge({
    name: 'zeus_worker_bids_open',
    help: 'Bids whose window is still open',
    registers: [r],
    collect() {
      this.set(agent.snapshot().bids.length);
    },
  });
  const counted: [keyof WorkerAgent['counts'], string, string][] = [
    ['bids', 'zeus_worker_bids_total', 'Bids sent and committed'],
    ['leasesStarted', 'zeus_worker_leases_started_total', 'Leases started (StartLease committed)'],
    ['reports', 'zeus_worker_usage_reports_total', 'Usage reports committed'],
    ['results', 'zeus_worker_results_submitted_total', 'Batch results published and submitted'],
    ['workloadsFailed', 'zeus_worker_workloads_failed_total', 'Workloads that exited non-zero or were killed at a limit'],
    ['workloadsStopped', 'zeus_worker_workloads_stopped_total', 'Workloads stopped because their lease ended on the chain (cancel, deadline, escrow)'],
  ];
  for (const [key, name, help] of counted) {
    // The agent keeps the count; the counter is set to it at each scrape (it only ever grows).
    new Counter({
      name,
      help,
      registers: [r],
      collect() {
        this.reset();
        this.inc(agent.counts[key]);
      },
    });
  }
  return r;
}
