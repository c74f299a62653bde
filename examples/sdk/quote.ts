// Who could run a task, at what price, and why every other worker could not: the node's quote
// (POST /market/quote) and the same matcher run here over the registered workers.
//   ZEUS_NODE=http://127.0.0.1:26657 node examples/sdk/quote.ts [runtime] [cores] [memoryMiB] [maxZncPerHour]
import { formatUnits, parseAmount, ZNC_DECIMALS, type QuoteRequest } from '../../src/sdk/index.ts';
import { client } from './env.ts';

const [runtime = 'docker', cores = '1', memoryMiB = '1024', max = '1'] = process.argv.slice(2);
const req: QuoteRequest = {
  cpuMillis: Number(cores) * 1000,
  memoryMiB: Number(memoryMiB),
  runtime,
  maxPricePerHour: parseAmount(max, ZNC_DECIMALS).toString(),
};
console.log(`quote for ${cores} core(s), ${memoryMiB} MiB, ${runtime}, at most ${max} ZNC/h`);
const q = await client.quote(req);
console.log(`${q.workers} worker(s) looked at, height ${q.height}`);
for (const c of q.candidates) console.log(`  candidate ${c.worker} asks ${formatUnits(BigInt(c.ask), ZNC_DECIMALS)} ZNC/h (rating ${c.rating})`);
for (const r of q.refused) for (const m of r.reasons) console.log(`  refused   ${r.worker} ${m.code}: ${m.message}`);
const local = await client.quoteLocally(req);
console.log(`local matcher agrees: ${JSON.stringify(local) === JSON.stringify(q)}`);
