// Post a task and follow its market events until its bid window closes or it ends.
//   ZEUS_NODE=… ZEUS_HOME=<devnet>/node0 ZEUS_KEY=alice node examples/sdk/post-task.ts [runtime]
// No worker is needed: with none that fits, the window closes empty and the task says why.
import { formatUnits, parseAmount, ZNC_DECIMALS, quoteRequestOf, type PostTaskSpec } from '../../src/sdk/index.ts';
import { client, senderKey } from './env.ts';

const key = senderKey();
const spec: PostTaskSpec = {
  image: `sha256:${'a'.repeat(64)}`,
  runtime: process.argv[2] === 'wasm' ? 'wasm' : 'docker',
  cpuMillis: 1000,
  memoryMiB: 512,
  maxPricePerHour: parseAmount('2', ZNC_DECIMALS),
  maxHours: 1,
  bidWindowBlocks: 4,
};
// Before posting: who could serve it, and why each other worker could not.
const q = await client.quote(quoteRequestOf(spec));
console.log(`quote: ${q.candidates.length} candidate(s) of ${q.workers} worker(s)`);
for (const r of q.refused) console.log(`  ${r.worker}: ${r.reasons.map((m) => `${m.code} (${m.message})`).join(', ')}`);

// Subscribe before posting: events queue from now on, so none is missed.
const events = client.subscribe({ events: ['market'] });
await events.ready;
const { id, tx } = await client.postTask(key, spec, { events });
const posted = await client.task(id);
console.log(`posted task ${id} at height ${tx.height}; escrow ${formatUnits(BigInt(posted.escrow), ZNC_DECIMALS)} ZNC; bids until height ${posted.closeHeight}`);
for await (const e of client.taskEvents(id, { events })) {
  console.log(`event ${e.kind} at height ${e.height}${e.detail ? `: ${e.detail}` : ''}`);
  if (e.kind === 'window-closed') break;
}
events.close();
const t = await client.task(id);
console.log(`task ${t.state}; bids ${t.bidCount}; leases ${t.leaseCount}`);
if (t.noBidReasons) console.log(`why nobody bid: ${Object.entries(t.noBidReasons).map(([k, v]) => `${k}×${v}`).join(', ')}`);
