import { join } from 'node:path';
import { addressFromPublicKey, decodeAddress, encodeAddress, Keystore, type KeyPair } from '../crypto/index.ts';
import { homeChain, TxKind, ZNC, ZNC_DECIMALS, ZNC_UNIT, type TxRequest } from '../ledger/index.ts';
import { DEV_PASSPHRASE, readConfig, readGenesis } from '../node/index.ts';
import { formatUnits, NodeApiError, ZeusClient } from '../sdk/index.ts';
import type { DevnetInfo } from './devnet.ts';

const znc = (n: string | bigint): string => `${formatUnits(BigInt(n), ZNC_DECIMALS)} ZNC`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The scripted walk through the ledger: transfers within and across inner chains, a
 * sub-token's life, staking, the foundation multisig, and vesting released on schedule.
 */
export async function runLedgerDemo(info: DevnetInfo, say: (line: string) => void): Promise<{ ok: boolean; steps: string[] }> {
  const home = info.nodes[0].home;
  const c = new ZeusClient(info.nodes[0].api);
  const passphrase = process.env.ZEUS_PASSPHRASE ?? readConfig(home).devPassphrase ?? DEV_PASSPHRASE;
  const ks = new Keystore(join(home, 'keys'));
  const key = (n: string): KeyPair => ks.load(n, passphrase);
  const addr = (n: string): string => encodeAddress(addressFromPublicKey(key(n).publicKey));
  const genesis = readGenesis(home);
  const steps: string[] = [];
  const step = (s: string): void => {
    steps.push(s);
    say(`\n== ${s}`);
  };
  const send = async <K extends TxKind>(who: string, kind: K, payload: TxRequest<K>['payload'], what: string) => {
    const sent = await c.send(key(who), kind, payload, info.chainId);
    const r = await c.waitForTx(sent.hash, 30_000);
    if (r.status === 'rejected') throw new NodeApiError(422, r.error!.code, `${what}: ${r.error!.message}`);
    say(`   ${what}: committed on chain ${r.chain} at height ${r.height} (tx ${r.hash.slice(0, 16)}…)`);
    return r;
  };
  const settle = async (): Promise<void> => {
    // Receipts land one height later; wait until nothing is in flight.
    for (let i = 0; i < 100; i++) {
      const s = await c.status();
      if (s.receiptsInFlight === 0 && s.mempool === 0) return;
      await sleep(100);
    }
  };
  const balance = async (n: string, token = ZNC): Promise<bigint> => BigInt((await c.account(addr(n))).balances[token] ?? '0');

  step('1. The chain: 1 main + 9 inner chains, 10,000,000,000 ZNC at genesis');
  const s0 = await c.status();
  say(`   chain ${s0.chainId}, height ${s0.height}; total supply ${znc((s0.supply as { total: string }).total)}`);
  for (const n of ['alice', 'bob', 'carol', 'dave']) say(`   ${n.padEnd(6)} ${addr(n)} home chain ${homeChain(decodeAddress(addr(n)))}: ${znc(await balance(n))}`);

  step('2. Transfers (zero fees): same chain and across inner chains by receipt');
  const pairs: [string, string][] = [['alice', 'bob'], ['carol', 'dave'], ['bob', 'carol']];
  for (const [from, to] of pairs) {
    const cross = homeChain(decodeAddress(addr(from))) !== homeChain(decodeAddress(addr(to)));
    await send(from, TxKind.Transfer, { to: decodeAddress(addr(to)), token: ZNC, amount: 1_250n * ZNC_UNIT, memo: 'demo' }, `${from} → ${to} 1,250 ZNC${cross ? ' (cross-chain: debit now, credit by receipt at the next height)' : ''}`);
  }
  await settle();
  for (const n of ['alice', 'bob', 'carol', 'dave']) say(`   ${n.padEnd(6)} ${znc(await balance(n))}`);

  step('3. A sub-token anchored to ZNC: create, convert, redeem');
  await send('alice', TxKind.TokenCreate, { symbol: 'GPU', name: 'GPU hour credit', decimals: 8, anchorRate: 10n, deposit: 1_000n * ZNC_UNIT }, 'alice creates GPU: 1,000 ZNC deposit at 10 GPU per ZNC');
  await send('bob', TxKind.TokenCreate, { symbol: 'CPU', name: 'CPU hour credit', decimals: 8, anchorRate: 100n, deposit: 10n * ZNC_UNIT }, 'bob creates CPU: 10 ZNC deposit at 100 CPU per ZNC');
  await settle();
  say(`   alice holds ${formatUnits(await balance('alice', 'GPU'), 8)} GPU`);
  await send('alice', TxKind.TokenConvert, { from: 'GPU', to: 'CPU', amount: 50n * ZNC_UNIT }, 'alice converts 50 GPU into CPU through ZNC');
  await settle();
  say(`   alice holds ${formatUnits(await balance('alice', 'GPU'), 8)} GPU and ${formatUnits(await balance('alice', 'CPU'), 8)} CPU`);
  await send('alice', TxKind.TokenRedeem, { symbol: 'CPU', amount: 100n * ZNC_UNIT }, 'alice redeems 100 CPU for 1 ZNC');
  await settle();
  for (const t of (await c.tokens()).tokens) say(`   ${t.symbol}: supply ${formatUnits(String(t.supply), 8)} = deposit ${znc(String(t.deposit))} × ${t.anchorRate}`);

  step('4. Staking raises the zero-fee transaction quota');
  const q0 = (await c.account(addr('dave'))).quota.limit;
  await send('dave', TxKind.Stake, { amount: 100_000n * ZNC_UNIT }, 'dave stakes 100,000 ZNC');
  await settle();
  const a = await c.account(addr('dave'));
  say(`   dave: staked ${znc(a.staked)}; quota ${q0} → ${a.quota.limit} transactions per ${a.quota.windowMs / 1000} s`);

  step('5. The development reserve moves only by its 2-of-3 foundation multisig');
  const reserve = genesis.multisigs[0].address;
  await send('foundation-1', TxKind.MultisigPropose, { account: decodeAddress(reserve), to: decodeAddress(addr('carol')), token: ZNC, amount: 5_000n * ZNC_UNIT, memo: 'grant' }, 'foundation-1 proposes a 5,000 ZNC grant to carol');
  const pid = BigInt((await c.account(reserve)).multisig!.proposals.at(-1)!.id);
  try {
    await send('foundation-1', TxKind.MultisigExecute, { account: decodeAddress(reserve), proposal: pid }, 'foundation-1 executes alone');
  } catch (e) {
    say(`   executing with 1 of 2 approvals is refused: ${(e as Error).message}`);
  }
  await send('foundation-2', TxKind.MultisigApprove, { account: decodeAddress(reserve), proposal: pid }, 'foundation-2 approves');
  await send('foundation-2', TxKind.MultisigExecute, { account: decodeAddress(reserve), proposal: pid }, 'foundation-2 executes');
  await settle();

  step('6. Vesting enforced by the ledger (this devnet scales a month down)');
  const month = genesis.params.monthMs;
  const unlockAt = genesis.genesisTime + 6 * month;
  const acct = await c.account(addr('cornerstone'));
  say(`   cornerstone holds ${znc(acct.znc.balance)}, locked ${znc(acct.znc.vestingLocked)}, spendable ${znc(acct.znc.spendable)}`);
  const trySpend = () => send('cornerstone', TxKind.Transfer, { to: decodeAddress(addr('alice')), token: ZNC, amount: 1_000n * ZNC_UNIT, memo: '' }, 'cornerstone pays 1,000 ZNC');
  if (Date.now() < unlockAt - 1500) {
    try {
      await trySpend();
    } catch (e) {
      say(`   before month 7 the ledger refuses: ${(e as Error).message}`);
    }
  }
  // Block time must pass the release, not only the clock: leave a few blocks' margin.
  const wait = unlockAt + 1500 - Date.now();
  if (wait > 0) {
    say(`   waiting ${(wait / 1000).toFixed(1)} s of block time for the first 15 % release (month 7)…`);
    await sleep(wait);
  }
  const after = await c.account(addr('cornerstone'));
  say(`   now spendable ${znc(after.znc.spendable)}, still locked ${znc(after.znc.vestingLocked)}`);
  await trySpend();
  await settle();

  step('7. Nothing was created or destroyed');
  const s1 = await c.status();
  const sup = s1.supply as Record<string, string>;
  say(`   height ${s1.height}: ${znc(sup.total)} = spendable ${znc(sup.spendable)} + vesting ${znc(sup.vesting)} + staked ${znc(sup.staked)} + multisig ${znc(sup.multisig)} + pool ${znc(sup.pool)} + anchored ${znc(sup.anchored)} + in flight ${znc(sup.inFlight)}`);
  let agreed = true;
  if (info.nodes.length > 1) {
    step(`8. ${info.nodes.length} bookkeeper processes decided every block together`);
    const clients = info.nodes.map((n) => new ZeusClient(n.api));
    const h = Math.min(...(await Promise.all(clients.map(async (x) => (await x.status()).height))));
    const hashes = await Promise.all(clients.map(async (x) => (await x.block(h)).hash));
    agreed = hashes.every((x) => x === hashes[0]);
    info.nodes.forEach((n, i) => say(`   ${n.name}: block ${h} ${hashes[i].slice(0, 16)}…`));
    const b = await c.bookkeepers();
    for (const k of b.candidates) say(`   ${k.name.padEnd(13)} proposed ${k.proposed} blocks, missed ${k.missedTotal}, earned ${znc(k.earned)} this epoch${k.inSet ? '' : ' (not in the set)'}`);
    say(agreed ? '   every node holds the same block: one chain, final at each height' : '   NODES DISAGREE');
  }
  return { ok: BigInt(sup.total) === 10_000_000_000n * ZNC_UNIT && agreed, steps };
}
