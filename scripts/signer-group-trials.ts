import { EtcdCluster } from '../test/helpers/etcd.ts';
import { runFailoverTrials } from '../test/helpers/signerGroupTrials.ts';

// Randomized failover trials of a seat group against a real three-member etcd cluster started
// here (issue 18): kills, pauses and deposed leaders of the group, killed and stopped etcd
// members, lost etcd quorum. Prints the counts as JSON; exits 1 on any conflicting signature.
//   node scripts/signer-group-trials.ts [--trials 1000] [--seed N] [--slot-ms 300]

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const trials = arg('trials', 1_000);
const seed = arg('seed', Date.now() % 100_000);
const slotMs = arg('slot-ms', 300);
const cluster = await EtcdCluster.start(3);
let conflicts = 0;
try {
  const r = await runFailoverTrials({ cluster, trials, seed, slotMs, log: (l) => console.error(l) });
  conflicts = r.conflicts.length;
  const takeover = [...r.takeoverMs].sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        ...r,
        takeoverMs: { count: takeover.length, min: takeover[0], median: takeover[takeover.length >> 1], max: takeover[takeover.length - 1], all: takeover },
      },
      null,
      1,
    ),
  );
} finally {
  await cluster.close();
}
process.exit(conflicts > 0 ? 1 : 0);
