// Builds the sample apps (src/cli/sampleApps.ts) with the local Docker engine:
//
//   node scripts/sample-apps.ts [--out DIR]      (npm run sample-apps)
import { resolve } from 'node:path';
import { buildSampleApps } from '../src/cli/sampleApps.ts';

const at = process.argv.indexOf('--out');
const outDir = resolve(at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : '.sample-apps');
const { apps, wasmPath, wasmSha256 } = buildSampleApps(outDir);
for (const app of apps) console.log(`${app.tag.padEnd(30)} ${app.imageId}  context sha256:${app.contextSha256}`);
console.log(`${wasmPath} sha256:${wasmSha256}`);
