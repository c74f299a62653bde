import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proposalPayload } from '../src/ledger/gov/testing.ts';
import { isAlive, startDevnet, stopDevnet, type DevnetInfo } from '../src/cli/devnet.ts';
import { ProposalType, TxKind, VoteOption, ZNC_UNIT, type Payload } from '../src/ledger/index.ts';
import { NodeApiError, Tx, TxRejectedError, ZeusClient, type TxIntent } from '../src/sdk/index.ts';
import { api, loadDevKeys, ROOT, sleep, waitFor, type NamedKey } from './helpers/processes.ts';

// Governance on a 4-bookkeeper devnet of real node processes (issue 17, must-shows 1, 2 and 5).
// (a) A param-change raising market.minWorkerBond passes only thanks to delegated weight (yes:
//     1,000 own + 2,000 delegated by an account that does not vote, against no: 2,000), takes
//     effect on every node at the same height, and a worker below the new bond is refused. Beside it
//     the same change without quorum fails and a vetoed proposal's deposit goes to the pool; the
//     supply is exactly 10,000,000,000 ZNC at each look.
// (b) An upgrade proposal passes; every node halts at its height saying so (log, /status, /health,
//     transactions refused UPGRADE_NEEDED) and keeps running; restarted with a handler module
//     (`--upgrade-module`, through startDevnet) they go on with identical state roots, and the
//     handler's state change shows on every node.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-gov-devnet-'));
const BLOCK_MS = 400;
const ZNC = (n: number): bigint => BigInt(n) * ZNC_UNIT;
const NEW_BOND = ZNC(500);
const UPGRADE = 'zeus-v2';
/** What the upgrade's handler sets (the devnet's is 20): visible in GET /market/params. */
const UPGRADED_REVIEW_BLOCKS = 33;

let net: DevnetInfo;
let keys: Record<string, NamedKey>;
const clients = (): ZeusClient[] => net.nodes.map((n) => new ZeusClient(n.api));

/** A proposal's payload: the content fields a type does not use left neutral, 1,000 ZNC of deposit. */
function proposal(p: Partial<Payload<typeof TxKind.GovPropose>> & { type: number; title: string }): TxIntent<typeof TxKind.GovPropose> {
  return Tx.of(TxKind.GovPropose, proposalPayload({ deposit: ZNC(1_000), ...p }));
}

/** Votes once the proposal is open (its GovSubmit receipt reaches main a height after the proposal commits). */
async function vote(key: NamedKey, id: bigint, option: number): Promise<void> {
  const c = clients()[0];
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await c.execute(key, Tx.of(TxKind.GovVote, { proposal: id, option }));
      return;
    } catch (e) {
      if (!(e instanceof TxRejectedError) || Date.now() > deadline) throw e;
      await sleep(BLOCK_MS);
    }
  }
}

/** Each node's height, read before and after `read`: the answer belongs to a height only when both agree. */
async function atHeight<T>(c: ZeusClient, read: () => Promise<T>): Promise<{ height: number; value: T } | undefined> {
  const before = (await c.status()).height;
  const value = await read();
  const after = (await c.status()).height;
  return before === after ? { height: before, value } : undefined;
}

/** The segment state roots of `height` as each node's GET /blocks/H shows them. */
const rootsAt = (height: number): Promise<string[]> =>
  Promise.all(clients().map(async (c) => JSON.stringify((await c.block(height)).segments.map((s) => s.stateRoot))));

const minHeight = async (): Promise<number> => Math.min(...(await Promise.all(clients().map(async (c) => (await c.status()).height))));

beforeAll(async () => {
  net = await startDevnet({ dir, validators: 4, blockTimeMs: BLOCK_MS });
  keys = loadDevKeys(net.nodes[0].home, ['alice', 'bob', 'carol', 'dave', 'bookkeeper-0']);
}, 180_000);

afterAll(async () => {
  await stopDevnet(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('governance on a 4-bookkeeper devnet', () => {
  it('(a) a param-change passes by delegated weight, applies on every node at the same height, and refuses a worker below the new bond', async () => {
    const [c0] = clients();
    const { alice, bob, carol, dave } = keys;
    const bk0 = keys['bookkeeper-0'];
    // The devnet's bookkeepers hold no stake at genesis: all bonded stake is what these accounts bond here.
    await c0.execute(dave, Tx.transfer({ to: bk0.address, amount: ZNC(2_000) }));
    await Promise.all([
      c0.execute(bk0, Tx.stake(ZNC(1_000))),
      c0.execute(bob, Tx.stake(ZNC(2_000))),
      c0.execute(carol, Tx.stake(ZNC(2_000))),
      c0.execute(dave, Tx.stake(ZNC(600))),
    ]);
    // bob lets bookkeeper-0 vote with his stake and never votes himself.
    await c0.execute(bob, Tx.delegate(bk0.address));
    const before = await c0.marketParams();
    expect(BigInt(before.minWorkerBond)).toBe(ZNC(100));
    const zncOf = async (k: NamedKey): Promise<bigint> => BigInt((await c0.account(k.address)).balances.ZNC ?? '0');
    const alice0 = await zncOf(alice);
    const supplies = new Set<string>([(await c0.status()).supply.total]);

    const proposed = await c0.execute(
      alice,
      proposal({
        type: ProposalType.ParamChange,
        title: 'Raise the minimum worker bond to 500 ZNC',
        changes: [{ name: 'market.minWorkerBond', value: NEW_BOND.toString() }],
      }),
    );
    // yes 1,000 (bookkeeper-0) + 2,000 (bob, delegated) against no 2,000 (carol): passes only with bob's weight.
    await Promise.all([vote(bk0, 1n, VoteOption.Yes), vote(carol, 1n, VoteOption.No)]);
    expect(await c0.proposalOfTx(proposed.hash)).toBe('1');

    // Must-show 2, beside it: the same change with too few votes (dave's 600 of 5,600 bonded, under the
    // 33.4 % quorum) fails; a text carol vetoes (2,000 of 2,600 voted, over 33.4 %) loses its deposit to
    // the rewards pool. Both are alice's, with 1,000 ZNC each.
    // One sender's transactions one after another (each takes the next nonce).
    const lowTx = await c0.execute(
      alice,
      proposal({
        type: ProposalType.ParamChange,
        title: 'The same, with too few votes',
        changes: [{ name: 'market.minWorkerBond', value: NEW_BOND.toString() }],
      }),
    );
    const vetoTx = await c0.execute(alice, proposal({ type: ProposalType.Text, title: 'Something a third of the stake vetoes' }));
    const [low, vetoed] = await Promise.all([c0.proposalOfTx(lowTx.hash), c0.proposalOfTx(vetoTx.hash)]).then((ids) => ids.map(BigInt));
    await Promise.all([
      (async () => {
        await vote(dave, low, VoteOption.Yes);
        await vote(dave, vetoed, VoteOption.Yes);
      })(),
      vote(carol, vetoed, VoteOption.Veto),
    ]);
    supplies.add((await c0.status()).supply.total);

    // Every node watched until it shows the new bond: each answer tied to the height it was read at.
    const seen: { node: number; height: number; bond: bigint }[] = [];
    await Promise.all(
      clients().map(async (c, node) => {
        const deadline = Date.now() + 40_000;
        for (;;) {
          const r = await atHeight(c, () => c.marketParams());
          if (r) {
            seen.push({ node, height: r.height, bond: BigInt(r.value.minWorkerBond) });
            if (r.value.minWorkerBond === NEW_BOND.toString()) return;
          }
          if (Date.now() > deadline)
            throw new Error(
              `node${node} never showed the new bond; last seen ${JSON.stringify(seen.at(-1), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
            );
          await sleep(40);
        }
      }),
    );
    const executedAt = Math.min(...seen.filter((s) => s.bond === NEW_BOND).map((s) => s.height));
    // Before that height every node showed the old bond, from it on the new one: one height for all.
    for (const s of seen) expect(s.bond, `node${s.node} at height ${s.height}`).toBe(s.height >= executedAt ? NEW_BOND : ZNC(100));
    expect(Math.max(...seen.filter((s) => s.bond !== NEW_BOND).map((s) => s.height))).toBe(executedAt - 1);
    for (let n = 0; n < 4; n++) expect(seen.some((s) => s.node === n && s.height >= executedAt && s.bond === NEW_BOND)).toBe(true);
    // The vote lasts 30 blocks and the change waits 5 more after it ends.
    expect(executedAt - proposed.height).toBeGreaterThanOrEqual(35);
    expect(executedAt - proposed.height).toBeLessThanOrEqual(40);
    // The same state on every node just before and at that height.
    for (const h of [executedAt - 1, executedAt]) expect(new Set(await rootsAt(h)).size, `state roots at ${h}`).toBe(1);

    // A worker offering the old minimum is refused with a code that says why.
    const spec = {
      cpuMillis: 2000,
      memoryMiB: 2048,
      diskMiB: 10_000,
      bandwidthMbps: 100,
      gpus: [],
      runtimes: ['wasm'],
      region: 'eu',
      endpoint: '127.0.0.1:7000',
      sealKey: new Uint8Array(32).fill(7),
      priceCpuCoreHour: 9_000_000n,
      priceMemoryGiBHour: 450_000n,
      priceGpuHour: 0n,
      benchmark: 600,
    };
    const refused = await c0.execute(dave, Tx.registerWorker({ ...spec, bond: ZNC(200) })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TxRejectedError);
    expect((refused as TxRejectedError).code).toBe('BOND_TOO_SMALL');
    expect((refused as TxRejectedError).message).toContain(`a worker bonds at least ${NEW_BOND} base units; ${ZNC(200)} offered`);
    // At the new bond the same worker registers: the bond, nothing else, was refused.
    const ok = await c0.execute(dave, Tx.registerWorker({ ...spec, bond: NEW_BOND }));
    expect(ok.status).toBe('committed');

    await waitFor(
      async () => {
        const ps = await Promise.all([low, vetoed].map((id) => c0.govProposal(id)));
        return ps.every((p) => p.status !== 'voting' && p.status !== 'deposit');
      },
      30_000,
      'the two other votes to end',
    );
    const [lowEnd, vetoEnd] = await Promise.all([c0.govProposal(low), c0.govProposal(vetoed)]);
    expect([lowEnd.status, lowEnd.note]).toEqual(['rejected', 'quorum not reached']);
    expect(lowEnd.tally).toMatchObject({ yes: ZNC(600).toString(), no: '0', veto: '0', bonded: ZNC(5_600).toString() });
    expect(vetoEnd.status).toBe('vetoed');
    expect(vetoEnd.tally).toMatchObject({ yes: ZNC(600).toString(), veto: ZNC(2_000).toString() });
    // Deposits of the passed and the failed proposal came back to the base unit, the vetoed one's did not.
    await waitFor(async () => (await zncOf(alice)) === alice0 - ZNC(1_000), 10_000, "alice's deposits to come back");
    supplies.add((await c0.status()).supply.total);
    expect([...supplies]).toEqual([(10_000_000_000n * ZNC_UNIT).toString()]);
  }, 150_000);

  it('(b) an upgrade halts all four nodes at its height; restarted with its handler they go on with identical state roots', async () => {
    const [c0] = clients();
    const { alice, carol } = keys;
    const bk0 = keys['bookkeeper-0'];
    // The earliest height a proposal accepts is this height + the vote (30) + 2; a few more for the vote to open.
    const upgradeHeight = (await c0.status()).height + 40;
    const upgradeTx = await c0.execute(
      alice,
      proposal({
        type: ProposalType.Upgrade,
        title: 'Upgrade to zeus v2',
        upgradeName: UPGRADE,
        upgradeHeight: BigInt(upgradeHeight),
        upgradeInfo: 'restart with --upgrade-module zeus-v2.mjs',
      }),
    );
    const id = BigInt(await c0.proposalOfTx(upgradeTx.hash));
    await Promise.all([vote(bk0, id, VoteOption.Yes), vote(carol, id, VoteOption.Yes)]);

    // Every node stops after upgradeHeight − 1 and says why, in /status and in its log.
    await waitFor(
      async () => (await Promise.all(clients().map(async (c) => (await c.status()).halted))).every((h) => h?.upgrade?.name === UPGRADE),
      45_000,
      'all four nodes halted for the upgrade',
      200,
    );
    const message = `upgrade ${UPGRADE} needed at height ${upgradeHeight}`;
    for (const [i, c] of clients().entries()) {
      const s = await c.status();
      expect(s.height, `node${i}`).toBe(upgradeHeight - 1);
      expect(s.halted).toMatchObject({
        height: upgradeHeight - 1,
        upgrade: { name: UPGRADE, height: upgradeHeight, info: 'restart with --upgrade-module zeus-v2.mjs' },
      });
      expect(s.halted!.reason).toContain(message);
      const lines = readFileSync(net.nodes[i].log, 'utf8')
        .split('\n')
        .filter((l) => l.includes(message));
      // One error line, not a loop of them.
      expect(lines, `node${i}'s log`).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({ level: 50, upgrade: UPGRADE, height: upgradeHeight });
      const health = await api<{ error: { code: string } }>(net.nodes[i].api, 'GET', '/health');
      expect(health.status).toBe(503);
      expect(health.json?.error.code).toBe('UPGRADE_NEEDED');
    }
    // A transaction is refused with why, not left pending.
    const refused = await c0.submit((await c0.sign(alice, Tx.transfer({ to: carol.address, amount: 1n }))).bytes).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NodeApiError);
    expect(refused).toMatchObject({ status: 503, code: 'UPGRADE_NEEDED' });
    expect((refused as NodeApiError).message).toContain(message);
    // They stay there, running: no height passes and no process exits (nothing to restart in a loop).
    await sleep(5 * BLOCK_MS);
    for (const [i, c] of clients().entries()) {
      expect((await c.status()).height, `node${i}`).toBe(upgradeHeight - 1);
      expect(isAlive(net.nodes[i].pid), `node${i} still runs`).toBe(true);
    }
    const rootsBefore = await rootsAt(upgradeHeight - 1);
    expect(new Set(rootsBefore).size).toBe(1);

    // The new software: a handler module for the upgrade, a state migration through the ledger's stores.
    const moduleFile = join(dir, 'zeus-v2.mjs');
    const stores = pathToFileURL(join(ROOT, 'src/ledger/stores.ts')).href;
    writeFileSync(
      moduleFile,
      [
        `import { paramOverrides } from ${JSON.stringify(stores)};`,
        `export const upgrades = {`,
        `  ${JSON.stringify(UPGRADE)}: (ctx) => {`,
        `    const kept = (paramOverrides.get(ctx.state)?.changes ?? []).filter((c) => c.name !== 'market.reviewBlocks');`,
        `    const changes = [...kept, { name: 'market.reviewBlocks', value: '${UPGRADED_REVIEW_BLOCKS}' }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));`,
        `    paramOverrides.set(ctx.state, { changes });`,
        `  },`,
        `};`,
        '',
      ].join('\n'),
    );
    await stopDevnet(dir);
    net = await startDevnet({ dir, upgradeModules: [moduleFile] });
    await waitFor(async () => (await minHeight()) >= upgradeHeight + 3, 30_000, 'the chain past the upgrade height on every node', 200);
    for (const [i, c] of clients().entries()) {
      const s = await c.status();
      expect(s.halted, `node${i}`).toBeNull();
      const params = await c.marketParams();
      expect(params.reviewBlocks, `node${i}`).toBe(UPGRADED_REVIEW_BLOCKS);
      // The param change of (a) is still in force beside the upgrade's.
      expect(params.minWorkerBond).toBe(NEW_BOND.toString());
    }
    expect(await rootsAt(upgradeHeight - 1)).toEqual(rootsBefore);
    for (let h = upgradeHeight; h <= upgradeHeight + 3; h++) expect(new Set(await rootsAt(h)).size, `state roots at ${h}`).toBe(1);
    // Transactions commit again.
    const t = await c0.execute(alice, Tx.transfer({ to: carol.address, amount: 1n }));
    expect(t.height).toBeGreaterThan(upgradeHeight);
  }, 150_000);
});
