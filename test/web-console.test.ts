import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsole } from '../src/api/index.ts';
import { formatUnits, ZeusClient, type TaskDetailAnswer } from '../src/sdk/index.ts';
import { sampleModule } from '../src/worker/wasm-sample.ts';
import { CHROMIUM, launchBrowser, textWaiter } from './helpers/browser.ts';
import { ROOT } from './helpers/processes.ts';
import { okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// The web console in a real browser (Debian's Chromium driven by playwright-core) against a
// real devnet and a real worker process: a key is created in the wallet page (it stays in the
// browser), funded from a dev account with the CLI, a task is quoted and posted from the market
// page, and the task page follows it to its result and shows the payments (the worker paid, the
// unspent escrow back to the poster); then the explorer (the ten chains, a block, the posting
// transaction with its inclusion proof checked in the page, an account), the bookkeepers,
// workers, apps and charts. Every page is saved as a PNG at laptop and phone sizes in
// test-artifacts/web/.

const ART = join(ROOT, 'test-artifacts', 'web');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const net = new WorkerNet('zeus-web-console-');
let browser: Browser | undefined;
let worker: WorkerProcess | undefined;
/** Everything the browser sent (URL and body), to show the key's seed never left it. */
const sent: string[] = [];
const pageErrors: string[] = [];

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300); // let the last reload paint
  await page.screenshot({ path: join(ART, `${name}.png`), fullPage: true });
}

const waitText = textWaiter(pageErrors, { timeoutMs: 30_000, everyMs: 200, rendered: false });

async function open(page: Page, route: string, ready: string): Promise<void> {
  await page.goto(`${net.url}/#/${route}`);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
}

async function newContext(
  viewport: { width: number; height: number },
  storageState?: Awaited<ReturnType<BrowserContext['storageState']>>,
): Promise<BrowserContext> {
  const ctx = await browser!.newContext({ viewport, deviceScaleFactor: 1, storageState });
  ctx.on('request', (r) => sent.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`));
  ctx.on('page', (p) => {
    p.on('pageerror', (e) => pageErrors.push(e.message));
    // A 404 the page expects (an account that is no worker) is logged by Chromium as a failed load; not an error of the page.
    p.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()));
  });
  return ctx;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  // Built before any node starts, so that the devnet's node finds it up to date.
  const outcome = await ensureConsole((line) => console.log(line));
  expect(outcome).not.toBe('failed');
  rmSync(ART, { recursive: true, force: true });
  mkdirSync(ART, { recursive: true });

  net.start();
  // The sample WASM app, pushed as a one-layer image without Docker, with a license fee.
  const module = join(net.dir, 'primes.wasm');
  writeFileSync(module, sampleModule());
  okOut(
    net.zeus(
      '--json',
      'app',
      'publish',
      '--wasm',
      module,
      '--arg',
      '300',
      '--from',
      'alice',
      '--name',
      'primes',
      '--version',
      '1',
      '--license-fee',
      '0.01',
      '--wait',
    ),
  );
  worker = await net.startWorker('carol', ['--runtime', 'wasm', '--report-seconds', '1']);

  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  net.stop();
});

describe('the web console in Chromium against a devnet with a worker', () => {
  let state: Awaited<ReturnType<BrowserContext['storageState']>> | undefined;
  let address = '';
  let taskId = '';
  let postTx = '';

  it('creates a key, receives funds, posts a task and sees it run to a result and the payments', async () => {
    const c = new ZeusClient(net.url);
    const ctx = await newContext(LAPTOP);
    const page = await ctx.newPage();

    // The console is served at / by the node; the explorer is its first page.
    await open(page, '', '[data-testid="chains-grid"]');
    expect(await page.locator('[data-testid="chains-grid"] thead th').allTextContents()).toEqual([
      'Height',
      'Main',
      ...Array.from({ length: 9 }, (_, i) => `Inner ${i + 1}`),
    ]);

    // A key made in the browser.
    await open(page, 'wallet', 'input[name="keyName"]');
    await page.fill('input[name="keyName"]', 'web-user');
    await page.getByRole('button', { name: 'Create key' }).click();
    address = (await waitText(page, '[data-testid="wallet-address"]', /^znc1/)).trim();
    await waitText(page, '[data-testid="wallet-balance"]', /^0 ZNC$/);
    await shot(page, 'wallet-new-key-laptop');
    const stored = JSON.parse(String(await page.evaluate('localStorage.getItem("zeusnet.wallet.v1")'))) as { keys: { address: string; seed: string }[] };
    expect(stored.keys.map((k) => k.address)).toEqual([address]);
    const seed = stored.keys[0].seed;
    expect(seed).toMatch(/^[0-9a-f]{64}$/);

    // Funds from a dev account (the CLI), seen by the page as the block commits.
    okOut(net.zeus('transfer', '--from', 'alice', '--to', address, '--amount', '100', '--wait'));
    await waitText(page, '[data-testid="wallet-balance"]', /^100 ZNC$/);
    await waitText(page, '[data-testid="balance-changes"]', /\+100 ZNC/);
    await shot(page, 'wallet-funded-laptop');

    // A quote, then the task, from the market page.
    await open(page, 'market', 'select[name="app"]');
    await page.locator('select[name="app"] option[value="primes@1"]').waitFor({ state: 'attached' });
    await page.selectOption('select[name="runtime"]', 'wasm');
    await page.fill('input[name="cpu"]', '0.5');
    await page.fill('input[name="memory"]', '64');
    await page.fill('input[name="maxPrice"]', '1');
    await page.fill('input[name="maxHours"]', '1');
    await page.fill('input[name="bidWindow"]', '6');
    await page.getByRole('button', { name: 'Get a quote' }).click();
    await waitText(page, '[data-testid="quote"]', /1 of 1 registered worker could serve it/);
    // A quote that no worker fits says why: more memory than carol offers.
    await page.fill('input[name="memory"]', '9999999');
    await page.getByRole('button', { name: 'Get a quote' }).click();
    await waitText(page, '[data-testid="quote"]', /0 of 1 registered worker.*Why the others do not fit/s);
    await shot(page, 'market-quote-refused-laptop');
    await page.fill('input[name="memory"]', '64');
    await page.getByRole('button', { name: 'Get a quote' }).click();
    await waitText(page, '[data-testid="quote"]', /1 of 1 registered worker could serve it/);
    await page.getByRole('button', { name: 'Post as web-user' }).click();
    await waitText(page, '[data-testid="tx-committed"]', /task of primes@1 is final/);
    postTx = String(await page.locator('[data-testid="tx-committed"] a[href^="#/tx/"]').first().getAttribute('href')).slice('#/tx/'.length);
    await page.locator('[data-testid="posted-task"]').waitFor();
    taskId = String(await page.locator('[data-testid="posted-task"] a[href^="#/task/"]').first().getAttribute('href')).slice('#/task/'.length);
    expect(taskId).toMatch(/^[0-9a-f]{64}$/);
    expect(postTx).toMatch(/^[0-9a-f]{64}$/);
    await shot(page, 'market-posted-laptop');

    // The task page follows it: matched, started, the result, the review, settled; the payments.
    await page.locator('[data-testid="posted-task"] a', { hasText: 'Follow it' }).click();
    await page.locator('[data-testid="timeline"]').waitFor();
    await waitText(page, '[data-testid="timeline"]', /Lease 0 matched to/, 60_000);
    await shot(page, 'task-running-laptop');
    await waitText(page, 'tr[data-lease="0"]', /settled/, 120_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nworker:\n${worker?.log()}`);
    });
    await waitText(page, '[data-testid="refunded"]', /ZNC/, 30_000);
    const t: TaskDetailAnswer = await c.task(taskId);
    const lease = t.leases[0];
    expect(lease.state).toBe('settled');
    expect(lease.worker).toBe(worker!.address);
    expect(lease.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const paid = BigInt(lease.workerPaid);
    const fee = BigInt(lease.feePaid);
    expect(paid).toBeGreaterThan(0n);
    expect(fee).toBeGreaterThan(0n);
    const escrowed = 101_000_000n; // (1 ZNC/h + the 0.01 ZNC/h license fee) × 1 h × 1 replica
    const refund = escrowed - paid - fee;
    expect(await page.locator('[data-testid="worker-paid"]').textContent()).toBe(`${formatUnits(paid, 8)} ZNC`);
    expect(await page.locator('[data-testid="fee-paid"]').textContent()).toBe(`${formatUnits(fee, 8)} ZNC`);
    expect(await page.locator('[data-testid="refunded"]').textContent()).toBe(`${formatUnits(refund, 8)} ZNC`);
    expect(await page.locator('[data-testid="timeline"]').textContent()).toMatch(/Result of lease 0.*Lease 0 settled.*Task done/s);
    await shot(page, 'task-done-laptop');

    // The poster's balance: 100 less what the worker and the developer were paid (the rest of the escrow came back).
    await open(page, 'wallet', '[data-testid="wallet-balance"]');
    const after = `${formatUnits(100n * 10n ** 8n - paid - fee, 8)} ZNC`;
    await waitText(page, '[data-testid="wallet-balance"]', new RegExp(`^${after.replace(/\./g, '\\.')}$`));
    // The page saw the escrow go out when the task was posted, and the unspent part come back.
    const changes = await waitText(page, '[data-testid="balance-changes"]', /-1\.01 ZNC/);
    expect(changes).toContain(`+${formatUnits(refund, 8)} ZNC`);
    await shot(page, 'wallet-after-task-laptop');

    // The worker's earnings and the app on their pages.
    await open(page, 'workers', `tr[data-worker="${worker!.address}"]`);
    await waitText(
      page,
      `tr[data-worker="${worker!.address}"] [data-testid="worker-earnings"]`,
      new RegExp(`^${formatUnits(paid, 8).replace('.', '\\.')} ZNC$`),
    );
    expect(await page.locator(`tr[data-worker="${worker!.address}"]`).textContent()).toMatch(/wasm/);
    await shot(page, 'workers-laptop');
    await open(page, 'apps', 'tr[data-app="primes@1"]');
    expect(await page.locator('tr[data-app="primes@1"]').textContent()).toMatch(/primes.*sha256:.*0\.01 ZNC/);
    await waitText(page, 'tr[data-app="primes@1"] [data-testid="app-earned"]', new RegExp(`^${formatUnits(fee, 8).replace('.', '\\.')} ZNC$`));
    await shot(page, 'apps-laptop');

    // No request the page made carried the seed.
    expect(sent.length).toBeGreaterThan(10);
    expect(sent.filter((s) => s.includes(seed))).toEqual([]);
    state = await ctx.storageState();
    await ctx.close();
  }, 300_000);

  it('shows the explorer: the ten chains, a block, the transaction with its inclusion proof, an account; and the bookkeepers and charts', async () => {
    const c = new ZeusClient(net.url);
    const ctx = await newContext(LAPTOP, state);
    const page = await ctx.newPage();
    await open(page, 'explorer', '[data-testid="chains-grid"] tbody tr');
    await shot(page, 'explorer-laptop');

    const tx = await c.tx(postTx);
    expect(tx.status).toBe('committed');
    await open(page, `block/${tx.height}/${tx.chain}`, 'table');
    await waitText(page, 'main', new RegExp(`Transactions on inner ${tx.chain}`));
    await waitText(page, 'main', /PostTask/);
    await shot(page, 'block-laptop');

    await page.locator(`a[href="#/tx/${postTx}"]`).first().click();
    await waitText(page, '[data-testid="proof-verified"]', /verified in this browser/);
    expect(await page.locator('main').textContent()).toMatch(/PostTask.*Inclusion proof/s);
    await shot(page, 'tx-laptop');

    await open(page, `account/${address}`, '[data-testid="account-balance"]');
    await waitText(page, '[data-testid="account-balance"]', /ZNC/);
    expect(await page.locator('main').textContent()).toContain(taskId.slice(0, 8));
    await shot(page, 'account-laptop');

    // Stake from the wallet, then vote for a bookkeeper with that weight.
    await open(page, 'wallet', 'input[name="stake"]');
    await page.fill('input[name="stake"]', '10');
    await page.getByRole('button', { name: 'Stake', exact: true }).click();
    await waitText(page, '[data-testid="tx-committed"]', /stake of 10 ZNC is final/);
    await open(page, 'bookkeepers', 'tr[data-candidate]');
    expect(await page.locator('tr[data-candidate]').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('main').textContent()).toMatch(/in set/);
    const candidate = String(await page.locator('tr[data-candidate]').first().getAttribute('data-candidate'));
    await page.getByLabel(candidate, { exact: true }).check();
    await page.getByRole('button', { name: /^Vote for 1 candidate$/ }).click();
    await waitText(page, '[data-testid="tx-committed"]', /vote for 1 candidate\(s\) is final/);
    await waitText(page, '[data-testid="votes"]', new RegExp(`web-user.*${candidate}.*10 ZNC`));
    await shot(page, 'bookkeepers-laptop');

    await open(page, 'charts', 'figure.chart svg');
    expect(await page.locator('figure.chart').count()).toBe(4);
    // Transactions while the page watches: the throughput rises and each one's finality is measured.
    for (let i = 0; i < 3; i++) okOut(net.zeus('transfer', '--from', 'bob', '--to', address, '--amount', '1', '--wait'));
    await waitText(page, 'figure[data-chart="finality"] figcaption', /mempool → final \d+ ms/);
    await waitText(page, 'figure[data-chart="asks"] figcaption', /CPU core-hour \(median ask\) 0\.1 ZNC/);
    await shot(page, 'charts-laptop');

    await open(page, 'market', '[data-testid="market-events"], .empty');
    await shot(page, 'market-laptop');
    await ctx.close();
  }, 120_000);

  it('reads on a phone screen (390×844): every page', async () => {
    const ctx = await newContext(PHONE, state);
    const page = await ctx.newPage();
    const pages: [string, string][] = [
      ['explorer', '[data-testid="chains-grid"] tbody tr'],
      [`block/${(await new ZeusClient(net.url).tx(postTx)).height}`, 'table'],
      [`tx/${postTx}`, '[data-testid="proof-verified"]'],
      [`account/${address}`, '[data-testid="account-balance"]'],
      ['market', 'select[name="app"]'],
      [`task/${taskId}`, '[data-testid="timeline"]'],
      ['workers', 'tr[data-worker]'],
      ['apps', 'tr[data-app]'],
      ['bookkeepers', 'tr[data-candidate]'],
      ['charts', 'figure.chart svg'],
      ['wallet', '[data-testid="wallet-balance"]'],
    ];
    for (const [route, ready] of pages) {
      await open(page, route, ready);
      // Nothing wider than the screen except inside the tables' own scrolling boxes.
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      expect(overflow, `page ${route} is wider than the phone`).toBeLessThanOrEqual(0);
      await shot(page, `${route.split('/')[0]}-phone`);
    }
    // The menu opens the navigation on a phone.
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.locator('nav.open').getByRole('link', { name: 'Bookkeepers', exact: true }).waitFor();
    await shot(page, 'menu-phone');
    await ctx.close();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
