import type { Command } from 'commander';
import { addressFromPublicKey, decodeAddress, encodeAddress } from '../crypto/index.ts';
import { multisigAddress, TxKind, ZNC, ZNC_DECIMALS } from '../ledger/index.ts';
import { formatUnits, parseAmount, type StateSyncAnswer } from '../sdk/index.ts';
import { client, decimalsOf, globalOptions, loadKey, output, resolveAddress } from './context.ts';
import { sendTx } from './tx.ts';

const fromOpt = ['--from <name>', 'key name in the keystore that signs'] as const;
const waitOpt = [
  '--wait',
  'return once the transaction is committed, printing hash, chain and height (given again to the next --node URL when a node stops answering or loses it)',
] as const;

export function register(program: Command): void {
  program
    .command('balance <addressOrName>')
    .description('Balances per token, spendable and vesting ZNC, stake, nonces per chain, home chain')
    .action(async (who: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const a = await client(g).account(resolveAddress(g, who));
      output(g, a, () => {
        const lines = [`${a.address} (${a.kind}, home chain ${a.homeChain})`];
        for (const [token, amt] of Object.entries(a.balances)) lines.push(`  ${token.padEnd(8)} ${token === ZNC ? formatUnits(amt, ZNC_DECIMALS) : amt}`);
        if (Object.keys(a.balances).length === 0) lines.push('  no balances');
        lines.push(`  spendable ZNC  ${formatUnits(a.znc.spendable, ZNC_DECIMALS)}`);
        if (a.znc.vestingLocked !== '0') lines.push(`  vesting ZNC    ${formatUnits(a.znc.vestingLocked, ZNC_DECIMALS)} (locked by schedule)`);
        if (a.staked !== '0') lines.push(`  staked ZNC     ${formatUnits(a.staked, ZNC_DECIMALS)}`);
        for (const u of a.unbonding) lines.push(`  unbonding      ${formatUnits(u.amount, ZNC_DECIMALS)} until ${new Date(u.releaseAt).toISOString()}`);
        lines.push(`  quota          ${a.quota.usedThisWindow}/${a.quota.limit} txs per ${a.quota.windowMs / 1000} s`);
        return lines.join('\n');
      });
    });

  program
    .command('transfer')
    .description('Transfer ZNC or a sub-token (zero fees; crosses inner chains by receipt when needed)')
    .requiredOption(...fromOpt)
    .requiredOption('--to <address>', 'recipient: a znc1… address or a key name')
    .requiredOption('--amount <n>', 'amount in whole tokens, decimals allowed (e.g. 12.5)')
    .option('--token <symbol>', 'token symbol', ZNC)
    .option('--memo <text>', 'memo (at most 256 bytes)', '')
    .option(...waitOpt)
    .action(async (o: { from: string; to: string; amount: string; token: string; memo: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const to = resolveAddress(g, o.to);
      const amount = parseAmount(o.amount, await decimalsOf(g, o.token));
      await sendTx(
        g,
        o.from,
        TxKind.Transfer,
        { to: decodeAddress(to), token: o.token, amount, memo: o.memo },
        !!o.wait,
        `transfer of ${o.amount} ${o.token} to ${to}`,
      );
    });

  program
    .command('stake')
    .description('Stake ZNC: raises your transaction quota, your registry upload quota and your voting weight')
    .requiredOption(...fromOpt)
    .requiredOption('--amount <znc>', 'ZNC to stake')
    .option(...waitOpt)
    .action(async (o: { from: string; amount: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      await sendTx(g, o.from, TxKind.Stake, { amount: parseAmount(o.amount, ZNC_DECIMALS) }, !!o.wait, `stake of ${o.amount} ZNC`);
    });

  program
    .command('unstake')
    .description('Unstake ZNC: it unbonds for the unbonding period, then becomes spendable')
    .requiredOption(...fromOpt)
    .requiredOption('--amount <znc>', 'ZNC to unstake')
    .option(...waitOpt)
    .action(async (o: { from: string; amount: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      await sendTx(g, o.from, TxKind.Unstake, { amount: parseAmount(o.amount, ZNC_DECIMALS) }, !!o.wait, `unstake of ${o.amount} ZNC`);
    });

  const token = program.command('token').description('Sub-tokens anchored to ZNC: create, redeem, convert, list');
  token
    .command('create')
    .description('Issue a sub-token backed by a ZNC deposit: supply = deposit × anchor rate')
    .requiredOption(...fromOpt)
    .requiredOption('--symbol <SYMBOL>', '2–10 characters A–Z, 0–9')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--deposit <znc>', 'ZNC to deposit')
    .requiredOption('--rate <n>', 'anchor rate: sub-token base units per ZNC base unit (whole number)')
    .option('--decimals <n>', 'decimals of the sub-token', '8')
    .option(...waitOpt)
    .action(async (o: { from: string; symbol: string; name: string; deposit: string; rate: string; decimals: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (!/^\d+$/.test(o.rate)) throw new Error('--rate must be a whole number');
      if (!/^\d+$/.test(o.decimals)) throw new Error('--decimals must be a whole number');
      await sendTx(
        g,
        o.from,
        TxKind.TokenCreate,
        { symbol: o.symbol, name: o.name, decimals: Number(o.decimals), anchorRate: BigInt(o.rate), deposit: parseAmount(o.deposit, ZNC_DECIMALS) },
        !!o.wait,
        `creation of ${o.symbol}`,
      );
    });
  token
    .command('redeem')
    .description('Redeem a sub-token for ZNC at its anchor rate')
    .requiredOption(...fromOpt)
    .requiredOption('--symbol <SYMBOL>', 'sub-token')
    .requiredOption('--amount <n>', 'sub-token amount (decimals allowed)')
    .option(...waitOpt)
    .action(async (o: { from: string; symbol: string; amount: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const amount = parseAmount(o.amount, await decimalsOf(g, o.symbol));
      await sendTx(g, o.from, TxKind.TokenRedeem, { symbol: o.symbol, amount }, !!o.wait, `redemption of ${o.amount} ${o.symbol}`);
    });
  token
    .command('convert')
    .description('Convert one sub-token into another through ZNC, atomically')
    .requiredOption(...fromOpt)
    .requiredOption('--source <SYMBOL>', 'sub-token to give')
    .requiredOption('--target <SYMBOL>', 'sub-token to receive')
    .requiredOption('--amount <n>', 'amount of the source token (decimals allowed)')
    .option(...waitOpt)
    .action(async (o: { from: string; source: string; target: string; amount: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const amount = parseAmount(o.amount, await decimalsOf(g, o.source));
      await sendTx(
        g,
        o.from,
        TxKind.TokenConvert,
        { from: o.source, to: o.target, amount },
        !!o.wait,
        `conversion of ${o.amount} ${o.source} into ${o.target}`,
      );
    });
  token
    .command('list')
    .description('List sub-tokens with their anchor rate, deposit and supply')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const { tokens } = await client(g).tokens();
      output(g, tokens, () =>
        tokens.length === 0
          ? 'no sub-tokens yet'
          : tokens
              .map(
                (t) =>
                  `${String(t.symbol).padEnd(10)} ${String(t.name).padEnd(20)} rate ${t.anchorRate}  deposit ${formatUnits(String(t.deposit), ZNC_DECIMALS)} ZNC  supply ${formatUnits(String(t.supply), Number(t.decimals))}  issuer ${t.issuer}`,
              )
              .join('\n'),
      );
    });

  const ms = program.command('multisig').description('M-of-N multisig accounts on the main chain');
  ms.command('create')
    .description('Create a multisig account; prints its address')
    .requiredOption(...fromOpt)
    .requiredOption('--members <list>', 'comma-separated member addresses or key names')
    .requiredOption('--threshold <m>', 'approvals needed')
    .option(...waitOpt)
    .action(async (o: { from: string; members: string; threshold: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const members = o.members.split(',').map((m) => decodeAddress(resolveAddress(g, m.trim())));
      const key = await loadKey(g, o.from);
      const me = encodeAddress(addressFromPublicKey(key.publicKey));
      const nonce = await client(g).nonce(me, 0);
      const address = encodeAddress(multisigAddress(addressFromPublicKey(key.publicKey), nonce));
      if (!g.json) process.stdout.write(`multisig address ${address}\n`);
      await sendTx(g, o.from, TxKind.MultisigCreate, { members, threshold: Number(o.threshold) }, !!o.wait, `creation of multisig ${address}`);
    });
  ms.command('propose')
    .description('Propose a payment from a multisig account (counts as your approval)')
    .requiredOption(...fromOpt)
    .requiredOption('--account <address>', 'the multisig account')
    .requiredOption('--to <address>', 'recipient address or key name')
    .requiredOption('--amount <n>', 'amount (decimals allowed)')
    .option('--token <symbol>', 'token', ZNC)
    .option('--memo <text>', 'memo', '')
    .option(...waitOpt)
    .action(async (o: { from: string; account: string; to: string; amount: string; token: string; memo: string; wait?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const account = resolveAddress(g, o.account);
      const before = await client(g).account(account);
      const amount = parseAmount(o.amount, await decimalsOf(g, o.token));
      await sendTx(
        g,
        o.from,
        TxKind.MultisigPropose,
        { account: decodeAddress(account), to: decodeAddress(resolveAddress(g, o.to)), token: o.token, amount, memo: o.memo },
        !!o.wait,
        `proposal on ${account}`,
      );
      if (o.wait && !g.json) {
        const after = await client(g).account(account);
        const known = new Set((before.multisig?.proposals ?? []).map((p) => p.id));
        const fresh = (after.multisig?.proposals ?? []).filter((p) => !known.has(p.id));
        if (fresh.length) process.stdout.write(`  proposal id ${fresh.map((p) => p.id).join(', ')}\n`);
      }
    });
  for (const [name, kind, what] of [
    ['approve', TxKind.MultisigApprove, 'Approve a pending proposal'],
    ['execute', TxKind.MultisigExecute, 'Execute a proposal that has enough approvals'],
  ] as const) {
    ms.command(name)
      .description(what)
      .requiredOption(...fromOpt)
      .requiredOption('--account <address>', 'the multisig account')
      .requiredOption('--proposal <id>', 'proposal id')
      .option(...waitOpt)
      .action(async (o: { from: string; account: string; proposal: string; wait?: boolean }, cmd: Command) => {
        const g = globalOptions(cmd);
        if (!/^\d+$/.test(o.proposal)) throw new Error('--proposal must be a whole number');
        const account = decodeAddress(resolveAddress(g, o.account));
        await sendTx(g, o.from, kind, { account, proposal: BigInt(o.proposal) }, !!o.wait, `${name} of proposal ${o.proposal}`);
      });
  }
  ms.command('show <address>')
    .description('Members, threshold and proposals of a multisig account')
    .action(async (address: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const a = await client(g).account(resolveAddress(g, address));
      if (!a.multisig) throw new Error(`${address} is not a multisig account`);
      const m = a.multisig;
      output(g, { address: a.address, balances: a.balances, ...m }, () =>
        [
          `${a.address} (${m.label || 'multisig'}): ${m.threshold} of ${m.members.length}`,
          ...m.members.map((x) => `  member ${x}`),
          `  balance ${formatUnits(a.balances[ZNC] ?? '0', ZNC_DECIMALS)} ZNC`,
          ...m.proposals.map(
            (p) =>
              `  proposal ${p.id}: ${formatUnits(String(p.amount), ZNC_DECIMALS)} ${p.token} to ${p.to}, ${(p.approvals as string[]).length} approvals${p.executed ? ', executed' : ''}`,
          ),
        ].join('\n'),
      );
    });

  const chain = program.command('chain').description('Chain information');
  chain
    .command('status')
    .description('Height, state roots of the main and nine inner chains, mempool, supply')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const s = await client(g).status();
      output(g, s, () => {
        const sup = s.supply;
        return [
          `chain ${s.chainId} at height ${s.height} (${new Date(s.time).toISOString()})`,
          `  last block ${s.lastBlockHash}`,
          ...s.chains.map((c) => `  ${c.kind === 'main' ? 'main   ' : `inner ${c.chain}`} state ${c.stateRoot}`),
          `  mempool ${s.mempool} txs; receipts in flight ${s.receiptsInFlight}`,
          `  supply ${formatUnits(sup.total, ZNC_DECIMALS)} ZNC = spendable ${formatUnits(sup.spendable, ZNC_DECIMALS)} + vesting ${formatUnits(sup.vesting, ZNC_DECIMALS)} + staked ${formatUnits(sup.staked, ZNC_DECIMALS)} + unbonding ${formatUnits(sup.unbonding, ZNC_DECIMALS)} + multisig ${formatUnits(sup.multisig, ZNC_DECIMALS)} + pool ${formatUnits(sup.pool, ZNC_DECIMALS)} + anchored ${formatUnits(sup.anchored, ZNC_DECIMALS)} + in flight ${formatUnits(sup.inFlight, ZNC_DECIMALS)}`,
          ...(s.stateSync ? [stateSyncLine(s.stateSync)] : []),
        ].join('\n');
      });
    });
}

/** How the node's chain began, what it keeps and offers (docs/STATE_SYNC.md). */
function stateSyncLine(st: StateSyncAnswer): string {
  const began =
    st.joined === 'snapshot'
      ? `joined by state sync from snapshot ${st.restoredFrom} (trust height ${st.trustHeight}, ${st.blocksExecuted ?? '?'} blocks executed)`
      : 'replayed from genesis';
  const kept = st.snapshots.length > 0 ? `snapshots ${st.snapshots.join(', ')}` : 'no snapshots';
  const prune = st.pruneKeepBlocks !== undefined ? `pruning to the last ${st.pruneKeepBlocks} blocks` : 'archive';
  return `  ${began}; blocks from ${st.lowestBlock} (${prune}); ${kept}`;
}
