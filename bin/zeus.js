#!/usr/bin/env node
// The CLI is TypeScript run directly by Node 24's type stripping. `npx zeus` and npm scripts
// put node_modules/.bin (holding the node@24 binary) first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `zeus needs Node 24 or newer (this is ${process.version}); run it as \`npx zeus\` from the repository so the node@24 dependency is used\n`,
  );
  process.exit(1);
}
// Every start of `zeus` compiles the sources it loads (about 0.6 s of its 1.4 s of CPU): Node keeps
// the compiled code on disk (NODE_COMPILE_CACHE, else a folder in the OS temp dir), keyed by each
// file's content, so a changed file is compiled afresh and the rest is read back.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli/main.ts');
