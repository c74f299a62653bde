import { describe, expect, it } from 'vitest';
import type { LeaseAnswer, QuoteAnswer, TaskDetailAnswer } from '../sdk/index.ts';
import { taskOutcome } from '../sdk/index.ts';
import { newTaskSeen, noCandidatesReason, outcomeJson, outcomeLine, taskChanges } from './taskFollow.ts';

// What `task wait`, `task post --follow` and a post with nobody to seal to tell the user, from
// answers shaped as a node gives them (taken from a devnet's /tasks/ID and /market/quote).

const ID = '0440aec3a9124c614a82b3056d8c958592caea320d6fbdb6fb8d2c58cd20cfe3';
const W1 = 'znc1qq8p5aj7gcrffk0vp5q90dldec50wvykavjh98mn';
const W2 = 'znc1qqc3n9p6547nzgd8ve4uklqpk5w78jledyhvdyge';

const lease = (o: Partial<LeaseAnswer> = {}): LeaseAnswer => ({
  task: ID,
  index: 0,
  worker: W1,
  state: 'settled',
  replica: 0,
  copy: 0,
  verifies: null,
  price: '5062500',
  matchedAt: 2040,
  startBy: 2080,
  reportBy: 2105,
  endpoint: '',
  startedAt: 1796631132184,
  paidUntil: 1796631133087,
  reports: 0,
  workerPaid: '845',
  feePaid: '8347',
  feeToken: 'ZNC',
  held: '0',
  feeHeld: '0',
  resultDigest: `sha256:${'78'.repeat(32)}`,
  commitment: '',
  revealBy: null,
  usage: { cpuSeconds: '0', memoryGiBSeconds: '0', gpuSeconds: '0', networkBytes: '0', wallMs: '601' },
  reviewEnd: 2067,
  disputeDeposit: '0',
  endedAt: 2068,
  outcome: 'result accepted',
  appOutcome: null,
  ...o,
});

const task = (o: Partial<TaskDetailAnswer> = {}): TaskDetailAnswer => ({
  id: ID,
  chain: 4,
  state: 'done',
  kind: 'batch',
  owner: 'znc1qpfxr7sccv9ag09z0nc0zc2dtqwkqr5tccrp8jq5',
  app: 'hello',
  version: '0.1.0',
  image: '',
  digest: `sha256:${'ba'.repeat(32)}`,
  developer: 'znc1qz43hf3nackejg7u76zeqj3pypzq5jlyag8h0cl2',
  needs: {
    cpuMillis: 500,
    memoryMiB: 64,
    diskMiB: 0,
    bandwidthMbps: 0,
    gpuCount: 0,
    gpuModel: '',
    gpuMemoryMiB: 0,
    runtime: 'docker',
    region: '',
    minRating: 0,
  },
  replicas: 1,
  redundancy: 1,
  maxPricePerHour: '100000000',
  maxHours: 1,
  ports: [],
  sealedBytes: 255,
  sealed: '',
  bidWindowBlocks: 10,
  retries: 0,
  retriesLeft: 0,
  postedAt: 2029,
  closeHeight: 2039,
  endedAt: 2068,
  graceUntil: null,
  escrow: '0',
  feeEscrow: '0',
  held: '0',
  feeHeld: '0',
  feeToken: 'ZNC',
  licenseFeePerHour: '50000000',
  bidCount: 1,
  leaseCount: 1,
  activeLeases: 0,
  openSlots: [],
  noBidReasons: null,
  bids: [{ index: 0, worker: W1, price: '5062500', rating: 615, height: 2030, used: true, withdrawn: false }],
  leases: [lease()],
  ...o,
});

const quote = (refused: QuoteAnswer['refused'], workers = refused.length): QuoteAnswer => {
  const counts: Record<string, number> = {};
  for (const r of refused) for (const m of r.reasons) counts[m.code] = (counts[m.code] ?? 0) + 1;
  return { height: 252, workers, candidates: [], refused, counts };
};
const price = (ask: string) => ({ code: 'PRICE', message: `price: asks ${ask}, task pays at most 0.00000001 ZNC/h` });

describe('noCandidatesReason', () => {
  it('names the price, the cheapest ask and the --max-price to give when the price alone keeps workers off', () => {
    const q = quote([
      { worker: W1, ask: '10500000', rating: 500, reasons: [price('0.105 ZNC/h')] },
      { worker: W2, ask: '9000000', rating: 500, reasons: [price('0.09 ZNC/h')] },
    ]);
    const m = noCandidatesReason(q, 1n);
    expect(m).toMatch(/^the max price is too low: --max-price 0\.00000001 ZNC\/h is below the ask of every worker/);
    expect(m).toContain('the cheapest asks 0.09 ZNC/h; 2 worker(s) would take it');
    expect(m).toContain('raise --max-price to at least 0.09');
  });

  it('does not blame the price when a worker would also lack the resources', () => {
    const q = quote([{ worker: W1, ask: '10500000', rating: 500, reasons: [price('0.105 ZNC/h'), { code: 'CPU', message: 'cpu: offers 1, needs 4' }] }]);
    const m = noCandidatesReason(q, 1n);
    expect(m).not.toMatch(/max price is too low/);
    expect(m).toBe('none of the 1 registered worker(s) fits it (1 PRICE, 1 CPU; see zeus task quote for each reason)');
  });

  it('says when no worker is registered at all', () => {
    expect(noCandidatesReason(quote([], 0), 1n)).toBe('no worker is registered on the network yet');
  });
});

describe('taskOutcome and the final line', () => {
  it('a done task whose every replica has an accepted result succeeded', () => {
    const t = task();
    expect(taskOutcome(t)).toBe('succeeded');
    expect(outcomeJson(t)).toMatchObject({ task: ID, state: 'done', outcome: 'succeeded', ok: true, leases: [{ lease: 0, feePaid: '8347' }] });
    expect(outcomeLine(t)).toBe(
      `task ${ID} succeeded (done at height 2068): lease 0 on ${W1} settled (result accepted), result sha256:${'78'.repeat(32)}; worker paid 0.00000845 ZNC, license fees 0.00008347 ZNC; fetch the result: zeus task result ${ID}`,
    );
  });

  it('an app that failed on its own is a failed task, though its lease settled and was paid', () => {
    const t = task({ leases: [lease({ outcome: 'app failed, accepted', appOutcome: { exitCode: 2, oomKilled: false, cause: '', logDigest: 'sha256:00' } })] });
    expect(taskOutcome(t)).toBe('failed');
    expect(outcomeLine(t)).toContain(`settled: the app failed (exit code 2; zeus task logs ${ID})`);
    expect(outcomeLine(t)).not.toContain('fetch the result');
  });

  it('a replica with no accepted result (a failed lease, no retry) fails the task', () => {
    expect(taskOutcome(task({ replicas: 2, leases: [lease(), lease({ index: 1, replica: 1, state: 'failed', outcome: 'missed its report deadline' })] }))).toBe(
      'failed',
    );
    expect(taskOutcome(task({ replicas: 2, leases: [lease(), lease({ index: 1, replica: 1 })] }))).toBe('succeeded');
  });

  it('an expired task says why nobody bid, naming the price', () => {
    const t = task({ state: 'expired', leases: [], bids: [], noBidReasons: { workers: 2, PRICE: 2 } });
    expect(taskOutcome(t)).toBe('expired');
    expect(outcomeLine(t)).toBe(
      `task ${ID} expired (expired at height 2068): nobody bid: of 2 registered worker(s), 2 PRICE (PRICE: --max-price is below their ask; zeus task quote shows it)`,
    );
  });

  it('a cancelled task is cancelled', () => {
    expect(taskOutcome(task({ state: 'cancelled', leases: [lease({ state: 'cancelled', outcome: 'cancelled by the task poster' })] }))).toBe('cancelled');
  });
});

describe('taskChanges', () => {
  it('tells each change once: the window, each bid, each lease state with its worker and deadline', () => {
    const seen = newTaskSeen();
    const open = task({ state: 'open', endedAt: null, bids: [], leases: [] });
    expect(taskChanges(seen, open)).toEqual(['task open: takes bids until height 2039']);
    expect(taskChanges(seen, open)).toEqual([]);
    const bid = { ...open, bids: task().bids };
    expect(taskChanges(seen, bid)).toEqual([`bid from ${W1}: 0.050625 ZNC/h (rating 615)`]);
    const matched = task({ state: 'running', activeLeases: 1, endedAt: null, leases: [lease({ state: 'matched', endedAt: null })] });
    expect(taskChanges(seen, matched, (a) => (a === W1 ? 'worker-1' : a))).toEqual([
      'task running: 1 lease(s) live',
      'lease 0 matched to worker-1 at 0.050625 ZNC/h; it must start by height 2080',
    ]);
    expect(taskChanges(seen, task({ state: 'running', activeLeases: 1, leases: [lease({ state: 'completed' })] }))).toEqual([
      `lease 0 completed on ${W1}: result sha256:${'78'.repeat(32)}; review until height 2067`,
    ]);
    expect(taskChanges(seen, task())).toEqual(['task done', `lease 0 settled on ${W1}: result accepted`]);
  });
});
