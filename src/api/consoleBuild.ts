import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The web console (src/web, React) is compiled by Vite into dist/web, which the node serves at
// `/` (index.html) and `/console/assets/*`. Nothing built is committed: a node builds it when the
// folder is missing or any source it was built from changed (build.json records every file the
// bundle took from the repository with its sha256, and the lock file for dependency changes).
// One build at a time per checkout: the nodes of a devnet start together, the first takes a lock
// directory and the others serve the "being built" page until the folder appears.

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_SRC = join(ROOT, 'src', 'web');
export const WEB_DIST = join(ROOT, 'dist', 'web');
/** Where the built assets are served from; the SPA routes by the URL's hash, so `/` is the only page. */
export const CONSOLE_BASE = '/console/';
const STAMP = 'build.json';
const LOCK = `${WEB_DIST}.lock`;
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;

interface BuildStamp {
  builtAt: string;
  /** Repository-relative path → sha256 of every source file in the bundle, and of package-lock.json. */
  inputs: Record<string, string>;
}

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Why dist/web must be (re)built, or undefined when it is up to date. */
export function consoleStale(dist = WEB_DIST): string | undefined {
  if (!existsSync(join(dist, 'index.html')) || !existsSync(join(dist, STAMP))) return `${relative(ROOT, dist)} is missing`;
  let stamp: BuildStamp;
  try {
    stamp = JSON.parse(readFileSync(join(dist, STAMP), 'utf8')) as BuildStamp;
  } catch {
    return `${relative(ROOT, dist)}/${STAMP} is unreadable`;
  }
  for (const [file, hash] of Object.entries(stamp.inputs ?? {})) {
    const abs = join(ROOT, file);
    if (!existsSync(abs)) return `${file} is gone`;
    if (sha256File(abs) !== hash) return `${file} changed`;
  }
  return undefined;
}

/** Compiles src/web into `outDir` with Vite's JS API; returns the repository files it bundled. */
export async function buildConsole(outDir = WEB_DIST): Promise<string[]> {
  const [{ build }, { default: react }] = await Promise.all([import('vite'), import('@vitejs/plugin-react')]);
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const result = await build({
    root: WEB_SRC,
    base: CONSOLE_BASE,
    configFile: false,
    logLevel: 'warn',
    plugins: [react()],
    build: { outDir: tmp, emptyOutDir: true, assetsDir: 'assets', sourcemap: false, chunkSizeWarningLimit: 1500, reportCompressedSize: false },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as { output?: { type: string; moduleIds?: string[] }[] }[];
  const files = new Set<string>([join(WEB_SRC, 'index.html'), join(ROOT, 'package-lock.json')]);
  for (const o of outputs) {
    for (const chunk of o.output ?? []) {
      for (const id of chunk.moduleIds ?? []) {
        const path = id.split('?')[0];
        if (path.startsWith(ROOT) && !path.includes('node_modules') && existsSync(path) && statSync(path).isFile()) files.add(path);
      }
    }
  }
  const inputs: Record<string, string> = {};
  for (const f of [...files].sort()) inputs[relative(ROOT, f)] = sha256File(f);
  writeFileSync(join(tmp, STAMP), `${JSON.stringify({ builtAt: new Date().toISOString(), inputs } satisfies BuildStamp, null, 1)}\n`);
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  return Object.keys(inputs);
}

/**
 * Takes the build lock (a directory holding its owner's pid): when it is free, or was left by a
 * process that is gone (killed during a build: the next start must not wait STALE_LOCK_MS for a
 * console), or is older than STALE_LOCK_MS. Exported with the lock as a parameter for its test.
 */
export function takeBuildLock(lock: string = LOCK): boolean {
  mkdirSync(dirname(lock), { recursive: true });
  try {
    mkdirSync(lock);
  } catch {
    if (!lockAbandoned(lock)) return false;
    try {
      // Renamed first: of several processes that found it abandoned, one moves it away and goes on.
      const away = `${lock}.abandoned-${process.pid}-${Date.now()}`;
      renameSync(lock, away);
      rmSync(away, { recursive: true, force: true });
      mkdirSync(lock);
    } catch {
      return false; // another process took it meanwhile
    }
  }
  writeFileSync(join(lock, 'pid'), String(process.pid));
  return true;
}

/** Whether the lock is held by a live process (a lock just made may not hold its pid yet: held). */
function lockAbandoned(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export type ConsoleBuildOutcome = 'fresh' | 'built' | 'busy' | 'failed';

/**
 * Builds the console if it is stale and no other process is building it. `log` gets one line
 * before the build starts and one when it ends (or fails: the node goes on without a console).
 */
export async function ensureConsole(log: (line: string) => void = () => {}): Promise<ConsoleBuildOutcome> {
  const why = consoleStale();
  if (why === undefined) return 'fresh';
  if (!takeBuildLock()) {
    log('web console: another process is building it; it is served once dist/web appears');
    return 'busy';
  }
  const t0 = Date.now();
  try {
    log(`web console: building dist/web with Vite (${why}); a few seconds…`);
    const files = await buildConsole();
    log(`web console: built in ${((Date.now() - t0) / 1000).toFixed(1)} s from ${files.length} files; served at /`);
    return 'built';
  } catch (e) {
    log(`web console: build failed: ${(e as Error).message.split('\n')[0]} (the node runs on; build it with \`npm run build:web\`)`);
    return 'failed';
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** True while a live process holds the build lock. */
export function consoleBuilding(lock: string = LOCK): boolean {
  return existsSync(lock) && !lockAbandoned(lock);
}
