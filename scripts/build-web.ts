import { buildConsole, consoleStale, WEB_DIST } from '../src/api/index.ts';

// `npm run build:web` (--force): compiles the web console (src/web) into dist/web with Vite.
// `npm test` runs it without --force before the tests: it builds only when dist/web is missing
// or older than its sources, and a failed build is reported without stopping the other tests
// (the browser tests then fail on their own).

const force = process.argv.includes('--force');
const why = force ? 'asked to' : consoleStale();
if (why === undefined) {
  console.log(`web console: ${WEB_DIST} is up to date`);
} else {
  const t0 = Date.now();
  console.log(`web console: building ${WEB_DIST} with Vite (${why})…`);
  try {
    const files = await buildConsole();
    console.log(`web console: built in ${((Date.now() - t0) / 1000).toFixed(1)} s from ${files.length} source files`);
  } catch (e) {
    console.error(`web console: build failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = force ? 1 : 0;
  }
}
