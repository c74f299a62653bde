// Follow a node's events: blocks, transactions and the market, as they happen.
//   ZEUS_NODE=http://127.0.0.1:26657 node examples/sdk/subscribe.ts [count]
// Stops after `count` events (default 10).
import { subscribe } from '../../src/sdk/index.ts';
import { NODE } from './env.ts';

const count = Number(process.argv[2] ?? 10);
const events = subscribe(NODE, {
  events: ['block', 'tx', 'market'],
  onState: (state, detail) => console.log(`[connection ${state}${detail ? `: ${detail}` : ''}]`),
});
await events.ready;
let n = 0;
for await (const e of events) {
  if (e.type === 'block') console.log(`block  height ${e.height}, ${e.txCounts.reduce((a, b) => a + b, 0)} tx(s)`);
  if (e.type === 'tx') console.log(`tx     ${e.hash} ${e.status} on chain ${e.chain}${e.error ? ` (${e.error.code})` : ''}`);
  if (e.type === 'market') console.log(`market ${e.kind} task ${e.task}${e.detail ? `: ${e.detail}` : ''}`);
  if (++n >= count) break;
}
events.close();
