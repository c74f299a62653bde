import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, ZNC_UNIT } from '../src/sdk/index.ts';
import { BROWSER_PACKAGES, bundleForBrowser, launchChromium, type BrowserBundle } from './helpers/browser.ts';
import { cleanup, initDevHome, loadDevKeys, startNode, waitFor, type DevHome } from './helpers/processes.ts';

// The SDK runs in a browser: src/sdk/index.ts bundled as a web app bundles it (Vite, platform
// browser) reaches no Node built-in and no Node-only package, and the bundle, loaded in real
// Chromium against a real node, makes a key, signs transfers and sees them committed.

let bundle: BrowserBundle;

beforeAll(async () => {
  bundle = await bundleForBrowser('src/sdk/index.ts');
}, 120_000);

describe('the SDK bundled for the browser', () => {
  it('reaches no Node built-in and only browser-safe packages', () => {
    expect(bundle.builtins, `Node built-ins in the browser graph: ${JSON.stringify(bundle.builtins)}`).toEqual([]);
    expect(bundle.packages.filter((p) => !BROWSER_PACKAGES.includes(p))).toEqual([]);
    // The browser implementation of the crypto primitives, not the node:crypto one, and no file keystore.
    expect(bundle.modules).toContain('src/crypto/impl.browser.ts');
    expect(bundle.modules).not.toContain('src/crypto/impl.node.ts');
    expect(bundle.modules).not.toContain('src/crypto/keystore.ts');
    expect(bundle.modules).toContain('src/sdk/client.ts');
  });

  it('uses no Node globals (Buffer, process, require)', () => {
    expect(bundle.code).not.toMatch(/\bBuffer\.(from|alloc|concat|isBuffer)\b/);
    expect(bundle.code).not.toMatch(/\bprocess\.(env|stdin|stdout|stderr|exit|pid)\b/);
    expect(bundle.code).not.toMatch(/\brequire\(/);
    expect(bundle.code).not.toContain('__vite-browser-external');
  });

  it('the Node entry (sdk/index.node.ts) is where the keystore is', async () => {
    const node = await bundleForBrowser('src/sdk/index.node.ts');
    expect(node.builtins.map((b) => b.id)).toContain('node:fs');
    expect(node.modules).toContain('src/crypto/keystore.ts');
  }, 120_000);
});

describe('the SDK in Chromium against a real node', () => {
  let dev: DevHome;
  let url: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dev = await initDevHome({ blockTimeMs: 200, prefix: 'zeus-sdk-browser-' });
    url = (await startNode(dev.home)).url;
  }, 60_000);

  afterAll(async () => {
    await close?.();
    await cleanup();
  });

  it('generates a key, signs and submits transfers from a funded dev account and from the new key, and sees them final', async () => {
    const { alice, bob } = loadDevKeys(dev.home, ['alice', 'bob']);
    const client = new ZeusClient(url);
    const before = { alice: BigInt((await client.account(alice.address)).znc.balance), bob: BigInt((await client.account(bob.address)).znc.balance) };

    const chromium = await launchChromium();
    close = chromium.close;
    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    // The page and the bundle are served at the node's own origin (as the console the node serves
    // will be): Playwright answers these two paths, everything else reaches the node.
    await page.route(`${url}/sdk-test/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/sdk-test/sdk.js') return route.fulfill({ contentType: 'text/javascript', body: bundle.code });
      return route.fulfill({ contentType: 'text/html', body: PAGE });
    });
    await page.goto(`${url}/sdk-test/index.html#${alice.secretKey.reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}/${bob.address}`);
    await page.waitForFunction('window.result !== undefined', undefined, { timeout: 60_000 });
    const result = JSON.parse(await page.evaluate('JSON.stringify(window.result)')) as PageResult;
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();

    // The page derived alice's key from her seed, as Node does; its own key is new.
    expect(result.alice).toBe(alice.address);
    expect(result.fresh).toMatch(/^znc1/);
    expect(result.statuses).toEqual(['committed', 'committed']);
    // The chain saw exactly what the page signed: 5 ZNC to the new key, 2 of them on to bob (a
    // credit to another chain lands one or two blocks after the transfer commits, by receipt).
    await waitFor(async () => BigInt((await client.account(bob.address)).znc.balance) !== before.bob, 30_000, "bob's credit");
    const after = { alice: BigInt((await client.account(alice.address)).znc.balance), bob: BigInt((await client.account(bob.address)).znc.balance) };
    expect(before.alice - after.alice).toBe(5n * ZNC_UNIT);
    expect(after.bob - before.bob).toBe(2n * ZNC_UNIT);
    expect(BigInt((await client.account(result.fresh)).znc.balance)).toBe(3n * ZNC_UNIT);
    for (const h of result.hashes) expect((await client.tx(h)).status).toBe('committed');
  }, 90_000);
});

interface PageResult {
  alice: string;
  fresh: string;
  hashes: string[];
  statuses: string[];
  error?: string;
}

// The page: plain JavaScript, as a web app would write it against the bundle.
const PAGE = `<!doctype html><meta charset="utf-8"><title>ZeusNet SDK test</title>
<script type="module">
import * as sdk from '/sdk-test/sdk.js';
try {
  const [seedHex, bob] = location.hash.slice(1).split('/');
  const client = new sdk.ZeusClient(location.origin);
  const alice = sdk.keyPairFromSeed(sdk.fromHex(seedHex));
  const fresh = sdk.generateKeyPair();
  const freshAddress = sdk.encodeAddress(sdk.addressFromPublicKey(fresh.publicKey));
  const hashes = [];
  const statuses = [];
  const a = await client.send(alice, sdk.TxKind.Transfer, { to: sdk.decodeAddress(freshAddress), token: 'ZNC', amount: sdk.parseAmount('5', sdk.ZNC_DECIMALS), memo: 'from a browser' });
  hashes.push(a.hash);
  statuses.push((await client.waitForTx(a.hash)).status);
  const b = await client.send(fresh, sdk.TxKind.Transfer, { to: sdk.decodeAddress(bob), token: 'ZNC', amount: sdk.parseAmount('2', sdk.ZNC_DECIMALS), memo: 'a browser-made key' });
  hashes.push(b.hash);
  statuses.push((await client.waitForTx(b.hash)).status);
  window.result = { alice: sdk.encodeAddress(sdk.addressFromPublicKey(alice.publicKey)), fresh: freshAddress, hashes, statuses };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;
