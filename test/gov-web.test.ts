import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsole } from '../src/api/index.ts';
import { addressOf, formatUnitsGrouped, newKey, seedHex, Tx, ZeusClient, ZNC_DECIMALS, ZNC_UNIT } from '../src/sdk/index.ts';
import { CHROMIUM, launchBrowser, textWaiter } from './helpers/browser.ts';
import { loadDevKeys, ROOT, waitFor, zeus as zeusIn, type NamedKey } from './helpers/processes.ts';

// The console's Governance page in a real browser (Debian's Chromium) against a real devnet (one
// solo bookkeeper, 500 ms blocks, the devnet's 30-block vote): a key imported into the wallet
// page has 600 ZNC staked and delegated to Alice; a param-change proposed through the SDK appears
// on the page by itself; Alice votes yes and the page shows the key's weight following her; the
// key then votes no from the console, and the count splits to the ZNC (yes 1,000, no 600) on the
// page and on the node alike; at the end of the vote the page shows the recorded count and the
// gov events of /ws. Screenshots in test-artifacts/web-gov/.

const ART = join(ROOT, 'test-artifacts', 'web-gov');
const dir = mkdtempSync(join(tmpdir(), 'zeus-gov-web-'));
const devnet = join(dir, 'net');
let url = '';
let client: ZeusClient;
let keys: Record<string, NamedKey>;
let browser: Browser | undefined;
const pageErrors: string[] = [];
const znc = (n: bigint): bigint => n * ZNC_UNIT;

const waitText = textWaiter(pageErrors, { timeoutMs: 20_000, everyMs: 150, rendered: true });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  // Built before the node starts, so that it serves this worktree's console.
  expect(await ensureConsole((line) => console.log(line))).not.toBe('failed');
  rmSync(ART, { recursive: true, force: true });
  mkdirSync(ART, { recursive: true });
  const r = zeusIn(join(dir, 'unused'), 'devnet', 'start', '--dir', devnet, '--validators', '1', '--workers', '0', '--block-time', '500');
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
  client = new ZeusClient(url);
  keys = loadDevKeys(join(devnet, 'node0'), ['alice', 'carol']);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  rmSync(dir, { recursive: true, force: true });
});

describe('the Governance page in Chromium against a devnet', () => {
  it('shows a proposal, its live count with a delegator following its proxy, and a vote sent from the wallet', async () => {
    // The console's key: 600 ZNC staked, delegated to Alice (1,000 ZNC staked).
    const voterKey = newKey();
    const voter = addressOf(voterKey);
    await client.execute(keys.alice, Tx.transfer({ to: voter, amount: znc(700n) }));
    await client.execute(keys.alice, Tx.stake(znc(1000n)));
    await client.execute(voterKey, Tx.stake(znc(600n)));
    await client.execute(voterKey, Tx.delegate(keys.alice.address));
    await waitFor(async () => (await client.account(voter)).staked === znc(600n).toString(), 10_000, "the voter's stake on main", 100);

    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()));

    // The key goes into the browser's wallet through the Wallet page's import form.
    await page.goto(`${url}/#/wallet`);
    await page.getByRole('tab', { name: 'Import a key' }).click();
    await page.fill('input[name="keyName"]', 'voter');
    await page.fill('input[name="seed"]', seedHex(voterKey));
    await page.getByRole('button', { name: 'Import key' }).click();
    expect(await waitText(page, '[data-testid="wallet-address"]', /^znc1/)).toBe(voter);

    // The Governance page, open before the proposal exists: it appears by itself.
    await page.getByRole('link', { name: 'Governance' }).click();
    await waitText(page, 'main', /No proposal yet/);
    const params = await client.govParams();
    const bond = params.params.find((p) => p.name === 'market.minWorkerBond')!;
    const newBond = BigInt(bond.value) * 2n;
    const { id } = await client.propose(keys.carol, {
      type: 'param-change',
      title: 'Double the worker bond',
      description: 'More at stake per worker.',
      changes: [{ name: 'market.minWorkerBond', value: newBond }],
      deposit: znc(1000n),
    });
    const row = await waitText(page, `[data-proposal="${id}"]`, /voting/);
    expect(row).toMatch(new RegExp(`^#${id} parameter change Double the worker bond voting .* ZNC votes at heights \\d+–\\d+`));

    // Alice votes yes; the voter's 600 ZNC follows her until it votes itself.
    await client.execute(keys.alice, Tx.govVote({ proposal: id, option: 'yes' }));
    await page.locator(`[data-proposal="${id}"] a`).first().click();
    expect(await waitText(page, '[data-testid="proposal-title"]', /\w/)).toBe('Double the worker bond');
    const shown = (v: bigint): string => `${formatUnitsGrouped(v, ZNC_DECIMALS)} ZNC`;
    // Until GET /gov/params answers, the row shows raw values without the parameter's description: wait for the formatted one.
    expect(await waitText(page, '[data-testid="changes"] tbody tr', / ZNC → .* ZNC$/)).toBe(
      `market.minWorkerBond ${bond.about} ${shown(BigInt(bond.value))} → ${shown(newBond)}`,
    );
    const following = await waitText(page, `[data-testid="weights"] tr[data-voter="${voter}"]`, /following proxy/);
    expect(following).toMatch(/^voter znc1\S+ 600 ZNC yes following proxy znc1\S+$/);
    expect(await waitText(page, '[data-testid="my-weight"]', /follows your proxy/)).toContain('Your weight 600 ZNC now follows your proxy');
    await waitText(page, '[data-testid="tally"] [data-option="yes"]', /yes 1,600 ZNC/);
    await page.screenshot({ path: join(ART, 'proposal-before-vote.png'), fullPage: true });

    // The voter votes no from the console: signed in the page, sent as a GovVote.
    await page.locator('button[data-vote="no"]').click();
    expect(await waitText(page, '[data-testid="tx-committed"]', /is final at height/)).toMatch(
      new RegExp(`^✓ The vote “no” on proposal #${id} is final at height \\d+ \\(chain 0\\)`),
    );
    await waitText(page, `[data-testid="weights"] tr[data-voter="${voter}"]`, /voted itself/);
    expect(await waitText(page, '[data-testid="tally"] [data-option="no"]', /no 600 ZNC/)).toBe('no 600 ZNC');
    expect(await waitText(page, '[data-testid="tally"] [data-option="yes"]', /yes 1,000 ZNC/)).toBe('yes 1,000 ZNC');
    expect(await waitText(page, '[data-testid="tally"] [data-row="threshold"]', /Yes/)).toMatch(/^Yes 62\.5 % of yes \+ no \+ veto · passes above 50 % ✓$/);
    expect(await waitText(page, '[data-testid="tally-outcome"]', /ended now/)).toBe('If the vote ended now: passed');
    expect(await waitText(page, `[data-testid="votes"] tr[data-voter="${voter}"]`, /no/)).toMatch(/^voter znc1\S+ no$/);
    expect(await waitText(page, '[data-testid="my-weight"]', /You voted/)).toMatch(/You voted no with weight 600 ZNC\.$/);
    // The node counts what the page shows.
    const p = await client.govProposal(id);
    expect(p.votes).toContainEqual({ voter, option: 'no' });
    expect(p.tally).toMatchObject({ final: false, yes: znc(1000n).toString(), no: znc(600n).toString(), outcome: 'passed' });
    expect(p.tally!.weights).toContainEqual({ voter, weight: znc(600n).toString(), option: 'no' });
    await page.screenshot({ path: join(ART, 'proposal-after-vote.png'), fullPage: true });

    // The vote ends (30 blocks after it opened): the recorded count and the stream's events.
    expect(await waitText(page, '[data-testid="tally-outcome"]', /Counted/, 30_000)).toBe('Counted: passed');
    const events = await waitText(page, '[data-testid="gov-events"]', /vote ended/);
    expect(events).toContain(`vote ended #${id} Double the worker bond — yes 1,000 ZNC, no 600 ZNC, abstain 0 ZNC, veto 0 ZNC of`);
    await page.screenshot({ path: join(ART, 'proposal-counted.png'), fullPage: true });

    // On a phone screen nothing is wider than the screen but the tables' own scrolling boxes.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const route of ['governance', `governance/${id}`]) {
      await page.goto(`${url}/#/${route}`);
      await page.locator(route === 'governance' ? `[data-proposal="${id}"]` : '[data-testid="tally"]').waitFor();
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      expect(overflow, `page ${route} is wider than the phone`).toBeLessThanOrEqual(0);
    }
    await page.screenshot({ path: join(ART, 'proposal-phone.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
