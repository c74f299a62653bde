import { mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build, type Plugin } from 'vite';
import { ROOT } from './processes.ts';

// Bundling the SDK as a web app would (Vite, platform browser) and driving real Chromium.

/** Packages the SDK's browser bundle may contain; anything else fails the bundle check (add a browser-safe one here). */
export const BROWSER_PACKAGES = ['@noble/hashes', '@noble/curves', '@noble/ciphers', '@scure/base'];

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export interface BrowserBundle {
  /** The bundle (one ES module). */
  code: string;
  /** Every module of the import graph (before tree shaking), relative to the repository. */
  modules: string[];
  /** Packages the graph reaches. */
  packages: string[];
  /** Node built-ins the graph imports, with the module that imports each. */
  builtins: { id: string; importer: string }[];
}

const packageOf = (id: string): string | undefined => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(id);
  return m?.[1];
};

/** Bundles `entry` (relative to the repository) for the browser with Vite and reports its graph. */
export async function bundleForBrowser(entry: string): Promise<BrowserBundle> {
  const builtins: { id: string; importer: string }[] = [];
  const graph: string[] = [];
  const audit: Plugin = {
    name: 'zeus-browser-audit',
    enforce: 'pre',
    resolveId(id, importer) {
      if (BUILTINS.has(id)) builtins.push({ id, importer: importer ? relative(ROOT, importer) : '(entry)' });
      return null;
    },
    buildEnd() {
      for (const id of this.getModuleIds()) graph.push(id);
    },
  };
  const out = await build({
    configFile: false,
    root: ROOT,
    logLevel: 'silent',
    plugins: [audit],
    build: { write: false, minify: false, lib: { entry: join(ROOT, entry), formats: ['es'], fileName: 'sdk' } },
  });
  const outputs = Array.isArray(out) ? out : [out];
  const chunks = outputs.flatMap((o) => ('output' in o ? o.output : [])).filter((c) => c.type === 'chunk');
  if (chunks.length !== 1) throw new Error(`expected one chunk, got ${chunks.length}`);
  const real = graph.filter((id) => !id.startsWith('\0'));
  return {
    code: chunks[0].code,
    modules: real
      .filter((id) => !id.includes('node_modules'))
      .map((id) => relative(ROOT, id))
      .sort(),
    packages: [...new Set(real.map(packageOf).filter((p): p is string => p !== undefined))].sort(),
    builtins,
  };
}

/** Debian's Chromium, and the flags that keep it headless and off this machine's closed network. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium for tests that open contexts of their own (viewports, saved storage). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Headless Chromium (the system's /usr/bin/chromium) with a fresh profile (--user-data-dir); `close()` removes it. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'zeus-chromium-'));
  // A persistent context is how Playwright takes a --user-data-dir: a fresh one per launch.
  const context = await chromium.launchPersistentContext(profile, {
    headless: true,
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A page waiter for console tests: `waitText` polls until the first element matching `selector`
 * reads text matching `re` and returns it; on timeout it throws with what it read last and the
 * page's errors. `rendered` reads `innerText` (what a user sees: table cells and lines apart) with
 * whitespace runs as one space; otherwise `textContent` as it is.
 */
export function textWaiter(pageErrors: readonly string[], o: { timeoutMs: number; everyMs: number; rendered: boolean }) {
  return async function waitText(page: Page, selector: string, re: RegExp, timeoutMs = o.timeoutMs): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const el = page.locator(selector).first();
      // biome-ignore lint/performance/useDomNodeTextContent: `rendered` asks for the text a user reads; textContent runs table cells together.
      const read = o.rendered ? el.innerText({ timeout: 1000 }) : el.textContent({ timeout: 1000 });
      last = (await read.catch(() => null)) ?? '';
      if (o.rendered) last = last.replace(/\s+/g, ' ').trim();
      if (re.test(last)) return last;
      if (Date.now() > deadline)
        throw new Error(`"${selector}" did not come to match ${re} within ${timeoutMs} ms; it reads "${last}"\npage errors: ${pageErrors.join('\n')}`);
      await page.waitForTimeout(o.everyMs);
    }
  };
}
