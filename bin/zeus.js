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
await import('../src/cli/main.ts');
