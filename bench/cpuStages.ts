// Where a bookkeeper's CPU time goes, by stage, from V8 CPU profiles (node --cpu-prof) of the node
// processes of a run: every sample is put in the stage of the innermost frame that names one, so
// a hash made while decoding counts as hashing and a signature check made while admitting a
// transaction counts as verifying. `node bench/cpuStages.ts DIR`
// prints the table for the profiles in DIR; bench:consensus --profile calls it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages in the order a committed transfer meets them (the split), then the rest. */
export const STAGES = ['receive', 'decode', 'verify', 'mempool', 'execute', 'hash', 'store', 'gossip', 'consensus', 'gc', 'other'] as const;
export type Stage = (typeof STAGES)[number];

// Innermost first: the first rule a frame meets, walking from the sampled frame to the root, wins.
const RULES: [Stage, (f: CallFrame) => boolean][] = [
  ['verify', (f) => /verify|checkTxSignature|ed25519Verify|certificateError/i.test(f.functionName) && !/verifyMerkle/.test(f.functionName)],
  [
    'hash',
    (f) =>
      /^(sha256|sha256Utf8|merkleRoot|leafHash|nodeHash|rootOfLeafHashes|leafOf|hash|digest|Hash|update|createHash)$/.test(f.functionName) &&
      !/libp2p|noise|chacha/.test(f.url),
  ],
  ['store', (f) => /classic-level|abstract-level|level-transcoder|lmdb|\/store\/|chainStore|kvStore|LevelKv/i.test(f.url)],
  ['gossip', (f) => /@libp2p|@chainsafe|libp2p|it-|uint8arraylist|protons|multiformats|yamux|noise/i.test(f.url) || /src\/p2p\//.test(f.url)],
  [
    'decode',
    (f) => /^(decodeTx|decode|decodeBlock|decodeTxBatch|decodeTxFrame|readObject|readValue|fromHex)$/.test(f.functionName) || /src\/codec\//.test(f.url),
  ],
  ['execute', (f) => /src\/ledger\//.test(f.url)],
  ['mempool', (f) => /src\/node\/(mempool|ackedTxs)\.ts/.test(f.url)],
  [
    'receive',
    (f) =>
      /fastify|find-my-way|avvio|light-my-request|@fastify|ws\/lib|src\/api\//.test(f.url) ||
      /^(parse|stringify)$/.test(f.functionName) ||
      /node:_http|node:http|_http_/.test(f.url),
  ],
  ['consensus', (f) => /src\/consensus\//.test(f.url) || /src\/node\//.test(f.url)],
];

export function stageOfStack(stack: CallFrame[]): Stage {
  if (stack[0]?.functionName === '(garbage collector)') return 'gc';
  for (const f of stack) for (const [stage, test] of RULES) if (test(f)) return stage;
  return 'other';
}

/** CPU milliseconds by stage over every profile in `dir` (idle and program-wide samples excluded). */
export function cpuStages(dir: string): Record<Stage, number> {
  const out = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const stageById = new Map<number, Stage | null>();
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i];
      let stage = stageById.get(id);
      if (stage === undefined) {
        const stack: CallFrame[] = [];
        for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!.callFrame);
        stage = stack[0].functionName === '(idle)' ? null : stageOfStack(stack);
        stageById.set(id, stage);
      }
      if (stage) out[stage] += (p.timeDeltas[i] ?? 0) / 1000;
    }
  }
  return out;
}

/** Each stage's share of the sampled time (0..1). */
export function stageShares(ms: Record<Stage, number>): Record<Stage, number> {
  const total = STAGES.reduce((a, s) => a + ms[s], 0) || 1;
  return Object.fromEntries(STAGES.map((s) => [s, Number((ms[s] / total).toFixed(3))])) as Record<Stage, number>;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals } = parseArgs({ allowPositionals: true });
  const ms = cpuStages(positionals[0]);
  for (const s of STAGES) process.stdout.write(`${s.padEnd(10)} ${ms[s].toFixed(0).padStart(8)} ms\n`);
  process.stdout.write(`${JSON.stringify(stageShares(ms), null, 2)}\n`);
}
