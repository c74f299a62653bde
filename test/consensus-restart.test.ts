import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, restartNode, startDevnet, stopDevnet, type DevnetInfo } from '../src/cli/devnet.ts';
import { decodeSignedProposal, encodeSignedProposal, fromWire, proposerIndex, signProposal } from '../src/consensus/index.ts';
import { bytesEqual, toHex, type KeyPair } from '../src/crypto/index.ts';
import { blockHash, decodeCommittedBlock, encodeBlock, encodeSignedVote, Ledger, signVote, validateGenesis, VoteType } from '../src/ledger/index.ts';
import { createP2PNode, generatePeerKey, type P2PNode } from '../src/p2p/index.ts';
import { api, loadDevKeys, sleep, waitFor } from './helpers/processes.ts';

// A bookkeeper that locked on another's block, restarted, must be able to propose that block
// again. One real node (node0 of a four-bookkeeper devnet) and the test as the other three
// bookkeepers (their dev keys, over a libp2p peer of its own): in round r the test proposes block
// v as that round's proposer and prevotes it with a second key; node0 prevotes it too, sees +2/3
// and locks on v (precommits it). Nobody else precommits, so nothing is decided. node0 is killed
// and restarted: it recovers its lock from its signing log, and when its own turn to propose
// comes it must re-propose v with valid round r. Before, the node kept only blocks it built
// itself, and its consensus stopped ("asked to propose block … that this node does not hold").

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-relock-'));
let net: DevnetInfo;
let keys: Record<string, KeyPair>;

interface ConsensusJson {
  height: number;
  round: number;
  step: string;
  self: number;
  peerId: string;
}
/** node0's log lines after the devnet came up (what it says when a step does not happen). */
const logOf0 = (): string =>
  readFileSync(net.nodes[0].log, 'utf8')
    .split('\n')
    .filter((l) => !/block committed|"consensus step"/.test(l))
    .slice(-12)
    .join('\n');
const consensus = async (): Promise<ConsensusJson | undefined> =>
  (await api<{ consensus?: ConsensusJson }>(net.nodes[0].api, 'GET', '/status').catch(() => undefined))?.json?.consensus;

beforeAll(async () => {
  net = await startDevnet({ dir, validators: 4, blockTimeMs: 500 });
  keys = loadDevKeys(net.nodes[0].home, ['bookkeeper-0', 'bookkeeper-1', 'bookkeeper-2', 'bookkeeper-3']);
}, 120_000);

afterAll(async () => {
  await stopDevnet(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a restarted bookkeeper and its lock', () => {
  it('re-proposes the block it locked on before the restart', async () => {
    // Only node0 runs from now on: it cannot decide anything alone.
    for (const n of net.nodes.slice(1)) process.kill(n.pid, 'SIGKILL');
    await waitFor(() => net.nodes.slice(1).every((n) => !isAlive(n.pid)), 10_000, 'the other nodes to die');
    const c0 = (await consensus())!;
    const proposals: { round: number; hash: string; validRound: number; proposer: string }[] = [];
    const rogue: P2PNode = await createP2PNode({
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [`${net.nodes[0].p2p}/p2p/${c0.peerId}`],
      privateKey: generatePeerKey(),
      chainId: net.chainId,
      serveBlocks: async () => [],
    });
    rogue.subscribe('proposals', (data) => {
      const p = fromWire(decodeSignedProposal(data).proposal);
      proposals.push({ round: p.round, hash: toHex(p.blockHash), validRound: p.validRound, proposer: toHex(p.proposer) });
      return 'keep';
    });
    await rogue.start();
    try {
      await waitFor(() => rogue.peers().some((p) => p.connected), 10_000, 'the test peer connected');
      // node0 may still be finishing a height the others decided just before they died (their
      // precommits or a block sync in flight): wait until its height has stopped moving.
      let c = (await consensus())!;
      let since = Date.now();
      await waitFor(
        async () => {
          const now = (await consensus())!;
          if (now.height !== c.height || now.round !== c.round) [c, since] = [now, Date.now()];
          return now.step === 'prevote' && Date.now() - since >= 2_000;
        },
        30_000,
        'node0 alone at a height it cannot leave',
        100,
      );
      const h = c.height;
      // The chain so far, replayed, to build a valid block for height h and know the set's order.
      const genesis = validateGenesis(JSON.parse(readFileSync(join(net.nodes[0].home, 'genesis.json'), 'utf8')));
      const ledger = Ledger.fromGenesis(genesis);
      for (const bytes of await rogue.fetchBlocks(c0.peerId, 1, h - 1)) {
        const cb = decodeCommittedBlock(bytes);
        ledger.commit(ledger.executeBlock(cb.block), cb.block.header, cb.certificate);
      }
      expect(ledger.height).toBe(h - 1);
      const set = ledger.bookkeepersAt(h);
      const keyOf = (i: number): KeyPair => Object.values(keys).find((k) => bytesEqual(k.publicKey, set[i]))!;
      const self = c.self;
      expect(self).toBeGreaterThanOrEqual(0);
      // Round r: proposed by another bookkeeper P, prevoted by P and Q; node0 joins (f+1 of round r).
      let r = c.round + 1;
      while (proposerIndex(h, r, 4) === self) r++;
      const p = proposerIndex(h, r, 4);
      const q = [0, 1, 2, 3].find((i) => i !== self && i !== p)!;
      const block = ledger.blockFor(ledger.begin(Math.max(Date.now(), ledger.time + 1)).finish(), keyOf(p).publicKey);
      const v = blockHash(block.header);
      const proposal = { chainId: net.chainId, height: BigInt(h), round: r, blockHash: v, validRound: -1, proposer: keyOf(p).publicKey };
      const prevote = (i: number, round: number, hash: Uint8Array) =>
        encodeSignedVote(
          signVote(keyOf(i), { chainId: net.chainId, type: VoteType.Prevote, height: BigInt(h), round, blockHash: hash, validator: keyOf(i).publicKey }),
        );
      const round1 = [
        ['proposals', encodeSignedProposal(signProposal(keyOf(p), proposal, encodeBlock(block)))],
        ['votes', prevote(p, r, v)],
        ['votes', prevote(q, r, v)],
      ] as const;
      // Sent again until they got through (a stream still opening may miss the first ones; copies are dropped as seen).
      const until = async (msgs: readonly (readonly ['proposals' | 'votes', Uint8Array])[], done: () => Promise<boolean>, what: string): Promise<void> =>
        waitFor(
          async () => {
            if (await done()) return true;
            for (const [topic, bytes] of msgs) await rogue.publish(topic, bytes);
            return false;
          },
          15_000,
          what,
          300,
        ).catch(async (e: unknown) => {
          throw new Error(`${(e as Error).message}; node0 is at ${JSON.stringify(await consensus())}; its log:\n${logOf0()}`);
        });
      // +2/3 prevotes for v (P, Q and its own): node0 locks on v and precommits it.
      await until(
        round1,
        async () => {
          const s = await consensus();
          return s?.height === h && s.round === r && s.step === 'precommit';
        },
        `node0 to precommit in round ${r}`,
      );
      await sleep(200); // the precommit went out (its signing log was written before it was signed)

      process.kill(net.nodes[0].pid, 'SIGKILL');
      await waitFor(() => !isAlive(net.nodes[0].pid), 10_000, 'node0 to die');
      net.nodes[0] = restartNode(dir, 'node0');
      await waitFor(async () => (await consensus())?.height === h, 30_000, 'node0 back at the same height', 100);
      await waitFor(() => rogue.peers().some((x) => x.connected), 15_000, 'the test peer reconnected', 100);

      // A later round whose proposer is node0: two others' nil prevotes of that round make it join.
      let r2 = r + 1;
      while (proposerIndex(h, r2, 4) !== self) r2++;
      const others = [0, 1, 2, 3].filter((i) => i !== self).slice(0, 2);
      const mine = toHex(keyOf(self).publicKey);
      await until(
        others.map((i) => ['votes', prevote(i, r2, new Uint8Array(0))] as const),
        async () => proposals.some((x) => x.round === r2 && x.proposer === mine),
        `node0's proposal for round ${r2}`,
      );
      const again = proposals.find((x) => x.round === r2 && x.proposer === mine)!;
      // The locked block, justified by the +2/3 prevotes of round r.
      expect(again).toEqual({ round: r2, hash: toHex(v), validRound: r, proposer: mine });
      expect(readFileSync(net.nodes[0].log, 'utf8')).not.toContain('consensus stopped');
    } finally {
      await rogue.stop();
    }
  }, 120_000);
});
