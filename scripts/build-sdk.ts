import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `npm run build:sdk`: compiles the SDK (src/sdk and what it imports: the codec, crypto, the
// ledger's client entry, the market rules) into packages/sdk/dist as plain JavaScript with .d.ts
// types, with the repository's TypeScript (packages/sdk/tsconfig.json). Then it checks what a
// package must never do: import a package its package.json does not name (it would work here,
// where the repository's node_modules has everything, and fail in a user's project).

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = join(ROOT, 'packages', 'sdk');
const DIST = join(PKG, 'dist');

const t0 = Date.now();
rmSync(DIST, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(PKG, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error(`@zeusnet/sdk: tsc failed (exit ${tsc.status})`);
  process.exit(1);
}

const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
const declared = new Set(Object.keys(pkg.dependencies ?? {}));
const builtins = new Set(builtinModules);
/** `@scope/name/sub.js` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (spec: string): string =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

const files = readdirSync(DIST, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
const undeclared: string[] = [];
for (const f of files) {
  const text = readFileSync(join(DIST, f), 'utf8');
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
    const spec = m[1];
    if (spec.startsWith('.') || spec.startsWith('#')) continue;
    if (spec.startsWith('node:') || builtins.has(spec)) continue;
    if (!declared.has(packageOf(spec))) undeclared.push(`${f}: ${spec}`);
  }
}
if (undeclared.length > 0) {
  console.error(`@zeusnet/sdk: dist imports packages its package.json does not depend on:\n  ${undeclared.join('\n  ')}`);
  process.exit(1);
}
console.log(`@zeusnet/sdk: built ${files.length} files into ${DIST} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
