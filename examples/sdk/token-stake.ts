// Sub-tokens, staking and voting for bookkeepers.
//   ZEUS_NODE=… ZEUS_HOME=<devnet>/node0 ZEUS_KEY=alice node examples/sdk/token-stake.ts [SYMBOL]
import { addressOf, Tx, ZNC_UNIT } from '../../src/sdk/index.ts';
import { client, senderKey } from './env.ts';

const key = senderKey();
const me = addressOf(key);
const symbol = process.argv[2] ?? 'CPU';

// A sub-token backed by a ZNC deposit: 10 ZNC at 100 tokens (base units) per ZNC base unit.
await client.execute(key, Tx.tokenCreate({ symbol, name: `${symbol} credits`, decimals: 2, anchorRate: 100n, deposit: 10n * ZNC_UNIT }));
// The deposit leaves the issuer's home chain; main registers the token by receipt a height later,
// and the supply reaches the issuer's home chain by receipt again.
const supply = await client.waitForBalance(me, (b) => b > 0n, { token: symbol });
const token = await client.token(symbol);
console.log(`created ${symbol}: supply ${token.supply} (credited ${supply}), deposit ${token.deposit}`);
console.log(`${symbol} balance of ${me}: ${(await client.account(me)).balances[symbol]}`);

// Stake (main chain), then vote with it for the current bookkeepers.
await client.execute(key, Tx.stake(1_000n * ZNC_UNIT));
const bk = await client.bookkeepers();
const candidates = bk.candidates.slice(0, 3).map((c) => c.address);
await client.execute(key, Tx.voteBookkeepers(candidates));
const a = await client.account(me);
console.log(`staked ${a.staked}; voted for ${candidates.length} candidate(s): ${candidates.join(', ')}`);
