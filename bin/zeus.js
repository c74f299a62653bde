#!/usr/bin/env node
// The CLI is written in TypeScript and run directly by Node 24's type stripping.
// `npx zeus` puts node_modules/.bin (with the node@24 binary) first on PATH.
import '../src/cli/main.ts';
