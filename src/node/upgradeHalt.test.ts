import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, toHex } from '../crypto/index.ts';
import {
  decodeTx,
  DEFAULT_PARAMS,
  LedgerError,
  ProposalStatus,
  ProposalType,
  signTx,
  TxKind,
  UpgradeNeededError,
  VoteOption,
  ZNC_UNIT,
  type Genesis,
  type TxRequest,
  type UpgradeHandler,
} from '../ledger/index.ts';
import { testChain } from '../ledger/testing.ts';
import { MemoryKvStore } from '../store/index.ts';
import { loadUpgradeModules } from './upgradeModules.ts';
import { ZeusNode } from './zeusNode.ts';

// The node side of a governance upgrade, on a real ZeusNode (solo bookkeeper, memory store): a
// passed upgrade proposal halts the node before its height — one error line, the halt in its
// health, transactions refused UPGRADE_NEEDED, no block built, and the same when it is opened
// again without the handler — and opened with the handler it runs it at that height and goes on.

const UPGRADE = 'v2';
const tmp = mkdtempSync(join(tmpdir(), 'zeus-upgrade-modules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const t = testChain({
  params: {
    governance: { ...DEFAULT_PARAMS.governance, minDeposit: (1_000n * ZNC_UNIT).toString(), votingPeriodBlocks: 3, executionDelayBlocks: 1 },
  } as unknown as Partial<Genesis['params']>,
});
const config = { chainId: t.genesis.chainId, api: { host: '127.0.0.1', port: 0 }, blockIntervalMs: 100, bookkeeperKey: 'bookkeeper-0', mempoolMax: 1_000 };

async function open(kv: MemoryKvStore, upgrades?: Map<string, UpgradeHandler>): Promise<{ node: ZeusNode; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const node = await ZeusNode.withStore(kv, t.genesis, config, t.keys['bookkeeper-0'], { logger, ...(upgrades ? { upgrades } : {}) });
  return { node, lines };
}

/** Signs with the sender's next committed nonce on the chain the transaction routes to. */
function signed<K extends TxKind>(node: ZeusNode, from: string, kind: K, payload: TxRequest<K>['payload']): Uint8Array {
  const key = t.keys[from];
  const chain = decodeTx(signTx(key, { chainId: t.genesis.chainId, kind, nonce: 0n, payload })).chain;
  const nonce = node.reader.nextNonce(chain, toHex(addressFromPublicKey(key.publicKey)));
  return signTx(key, { chainId: t.genesis.chainId, kind, nonce, payload });
}

async function commit(node: ZeusNode, txs: Uint8Array[]): Promise<void> {
  for (const tx of txs) await node.submit(tx);
  await node.produceBlock();
}

const upgradeLines = (lines: Record<string, unknown>[]): Record<string, unknown>[] =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(`upgrade ${UPGRADE} needed at height`));

describe('a node at a planned upgrade', () => {
  it('halts before the height without the handler, and goes on from it with the handler', async () => {
    const kv = new MemoryKvStore();
    const { node, lines } = await open(kv);
    await commit(node, [signed(node, 'alice', TxKind.Stake, { amount: 1_000n * ZNC_UNIT })]);
    const height = node.ledger.height + 3 + 2 + 4;
    await commit(node, [
      signed(node, 'bob', TxKind.GovPropose, {
        type: ProposalType.Upgrade,
        title: 'v2',
        description: '',
        changes: [],
        recipient: new Uint8Array(0),
        amount: 0n,
        upgradeName: UPGRADE,
        upgradeHeight: BigInt(height),
        upgradeInfo: 'https://example.org/v2',
        deposit: 1_000n * ZNC_UNIT,
      }),
    ]);
    await node.produceBlock(); // the proposal reaches main and its vote opens
    await commit(node, [signed(node, 'alice', TxKind.GovVote, { proposal: 1n, option: VoteOption.Yes })]);
    while (node.ledger.height < height - 1) await node.produceBlock();
    expect(node.reader.govProposal(1n)?.status).toBe(ProposalStatus.Passed);

    // Halted at height − 1: said once, in health, to transactions, and no block is built.
    expect(node.upgradeHalt).toBeInstanceOf(UpgradeNeededError);
    expect(node.halted).toMatchObject({ height: height - 1, upgrade: { name: UPGRADE, height, info: 'https://example.org/v2' } });
    expect(node.health()).toMatchObject({ ok: false, height: height - 1 });
    expect(upgradeLines(lines)).toHaveLength(1);
    expect(upgradeLines(lines)[0]).toMatchObject({ level: 50, upgrade: UPGRADE, height });
    const refused = await node
      .submit(signed(node, 'carol', TxKind.Transfer, { to: addressFromPublicKey(t.keys.dave.publicKey), token: 'ZNC', amount: 1n, memo: '' }))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LedgerError);
    expect(refused).toMatchObject({ code: 'UPGRADE_NEEDED' });
    expect((refused as Error).message).toContain(`upgrade ${UPGRADE} needed at height ${height}`);
    await expect(node.produceBlock()).rejects.toBeInstanceOf(UpgradeNeededError);
    expect(node.ledger.height).toBe(height - 1);
    expect(upgradeLines(lines)).toHaveLength(1);
    await node.close();

    // Opened again with the same software: halted from the start, not failing to open.
    const again = await open(kv);
    expect(again.node.halted?.upgrade).toEqual({ name: UPGRADE, height, info: 'https://example.org/v2' });
    expect(upgradeLines(again.lines)).toHaveLength(1);
    await again.node.close();

    // With the handler (loaded from a module, as `zeus node start --upgrade-module` does): it runs at the height.
    const file = join(tmp, 'v2.mjs');
    const stores = pathToFileURL(join(import.meta.dirname, '../ledger/stores.ts')).href;
    writeFileSync(
      file,
      `import { paramOverrides } from ${JSON.stringify(stores)};\n` +
        `export const upgrades = { ${JSON.stringify(UPGRADE)}: (ctx) => paramOverrides.set(ctx.state, { changes: [{ name: 'market.reviewBlocks', value: '7' }] }) };\n`,
    );
    const upgraded = await open(kv, await loadUpgradeModules([file]));
    expect(upgraded.node.halted).toBeUndefined();
    await upgraded.node.produceBlock();
    await upgraded.node.produceBlock();
    expect(upgraded.node.ledger.height).toBe(height + 1);
    expect(upgraded.node.reader.upgradesDone()).toEqual([[UPGRADE, { height: BigInt(height), proposal: 1n }]]);
    expect(upgraded.node.reader.upgradePlan()).toBeUndefined();
    expect(upgraded.node.ledger.params.market.reviewBlocks).toBe(7);
    expect(upgradeLines(upgraded.lines)).toHaveLength(0);
    await upgraded.node.close();
  });
});

describe('--upgrade-module', () => {
  const write = (name: string, text: string): string => {
    const f = join(tmp, name);
    writeFileSync(f, text);
    return f;
  };

  it('loads handlers by name from every module', async () => {
    const a = write('a.mjs', 'export const upgrades = { "v3": () => {} };\n');
    const b = write('b.mjs', 'export const upgrades = { "v4.1": () => {}, "v_5": () => {} };\n');
    expect([...(await loadUpgradeModules([a, b])).keys()]).toEqual(['v3', 'v4.1', 'v_5']);
  });

  it('refuses a module that is not one, naming the file and what is wrong', async () => {
    const cases: [string, string, RegExp][] = [
      ['none.mjs', 'export const handlers = {};\n', /none\.mjs: it exports no `upgrades`/],
      ['fn.mjs', 'export const upgrades = () => {};\n', /fn\.mjs: its `upgrades` is not an object \(function\)/],
      ['empty.mjs', 'export const upgrades = {};\n', /empty\.mjs: its `upgrades` names no upgrade/],
      ['str.mjs', 'export const upgrades = { v2: "run me" };\n', /str\.mjs: upgrades\["v2"\] is not a function \(string\)/],
      ['name.mjs', 'export const upgrades = { "no spaces": () => {} };\n', /name\.mjs: "no spaces" is not an upgrade name/],
      ['broken.mjs', 'export const upgrades = {\n', /broken\.mjs: it could not be loaded/],
    ];
    for (const [name, text, why] of cases) await expect(loadUpgradeModules([write(name, text)]), name).rejects.toThrow(why);
    await expect(loadUpgradeModules([join(tmp, 'missing.mjs')])).rejects.toThrow(/missing\.mjs: no such file/);
    const a = write('dup-a.mjs', 'export const upgrades = { v9: () => {} };\n');
    const b = write('dup-b.mjs', 'export const upgrades = { v9: () => {} };\n');
    await expect(loadUpgradeModules([a, b])).rejects.toThrow(/dup-b\.mjs: upgrade "v9" is also handled by .*dup-a\.mjs/);
  });
});
