import { describe, expect, it } from 'vitest';
import { toHex, type KeyPair } from '../crypto/index.ts';
import type { SignedVote } from '../ledger/commit.ts';
import { VoteType } from '../ledger/index.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { testChain } from '../ledger/testing.ts';
import { MemoryKvStore, type KvStore } from '../store/kv.ts';
import { proposerIndex } from './core.ts';
import { ConsensusHost, PENDING_PREFIX, type ConsensusMessage, type HostChain, type Signer } from './host.ts';
import { SigningGuard, SigningRefusedError } from './signer.ts';

// The consensus host with its I/O in hand: a clock that reads what the test says, timers that
// never fire, a network that records what was published, an in-memory store. (The simulator
// runs the same host under faults; these pin two things down directly.)

const GENESIS_TIME = 1_700_000_000_000;

function setup(): { keys: KeyPair[]; proposer: number; ledger: () => Ledger } {
  const t = testChain({ bookkeepers: 4, genesisTime: GENESIS_TIME });
  const keys = [0, 1, 2, 3].map((i) => t.keys[`bookkeeper-${i}`]);
  const set = t.ledger.bookkeepersAt(1);
  const proposerKey = set[proposerIndex(1, 0, set.length)];
  return {
    keys,
    proposer: keys.findIndex((k) => toHex(k.publicKey) === toHex(proposerKey)),
    ledger: () => testChain({ bookkeepers: 4, genesisTime: GENESIS_TIME }).ledger,
  };
}

function chainOf(ledger: Ledger, key: KeyPair): HostChain {
  return {
    get height() {
      return ledger.height;
    },
    get time() {
      return ledger.time;
    },
    bookkeepersAt: (h) => ledger.bookkeepersAt(h),
    build: (time) => {
      const executed = ledger.begin(time).finish();
      return { block: ledger.blockFor(executed, key.publicKey), executed };
    },
    execute: (block) => ledger.executeBlock(block),
    preverify: async () => undefined,
    commit: async (block, certificate, executed) => ledger.commit(executed, block.header, certificate),
    committedBlock: async () => undefined,
    reportEvidence: () => undefined,
  };
}

async function startHost(o: {
  key: KeyPair;
  ledger: Ledger;
  store: KvStore;
  now: number;
  cannotContinue?: () => Error | undefined;
  onFatal?: (e: unknown) => void;
  signer?: Signer;
  warnings?: { fields: object; msg: string }[];
}): Promise<{ host: ConsensusHost; sent: ConsensusMessage[]; logged: string[]; tick: (ms: number) => void }> {
  const sent: ConsensusMessage[] = [];
  const logged: string[] = [];
  let now = o.now;
  let ticker: () => void = () => undefined;
  const host = new ConsensusHost(
    {
      clock: { now: () => now },
      timers: {
        after: () => () => undefined,
        every: (_, fn) => {
          ticker = fn;
          return () => undefined;
        },
      },
      transport: { publish: (m) => sent.push(m), peers: () => [], fetchBlocks: () => undefined, penalize: () => undefined },
      store: o.store,
      ...(o.signer ? { signer: o.signer } : {}),
      chain: { ...chainOf(o.ledger, o.key), ...(o.cannotContinue ? { cannotContinue: o.cannotContinue } : {}) },
    },
    {
      config: {
        chainId: o.ledger.chainId,
        timeouts: { propose: { baseMs: 1000, deltaMs: 0 }, prevote: { baseMs: 1000, deltaMs: 0 }, precommit: { baseMs: 1000, deltaMs: 0 } },
      },
      key: o.key,
      commitDelayMs: 500,
      tickMs: 500,
      log: (msg) => logged.push(msg),
      ...(o.warnings ? { logger: { debug: () => undefined, warn: (fields: object, msg: string) => o.warnings?.push({ fields, msg }) } } : {}),
      onFatal:
        o.onFatal ??
        ((e) => {
          throw e;
        }),
    },
  );
  await host.open();
  host.start();
  await host.settled();
  const tick = (ms: number): void => {
    now += ms;
    ticker();
  };
  return { host, sent, logged, tick };
}

const proposals = (sent: ConsensusMessage[]): string[] => sent.flatMap((m) => (m.kind === 'proposal' ? [toHex(m.sp.proposal.blockHash)] : []));
const votes = (sent: ConsensusMessage[]): SignedVote[] => sent.flatMap((m) => (m.kind === 'vote' ? [m.vote] : []));

describe('consensus host', () => {
  it('after a restart proposes the block it signed before, from its store, and never another', async () => {
    const { keys, proposer, ledger } = setup();
    const store = new MemoryKvStore();
    const before = await startHost({ key: keys[proposer], ledger: ledger(), store, now: GENESIS_TIME + 1_000 });
    const [signed] = proposals(before.sent);
    expect(signed).toBeDefined();
    expect(votes(before.sent).map((v) => toHex(v.vote.blockHash))).toContain(signed);
    await before.host.stop();

    // The restarted process's clock has moved on: the block it would build now is another one.
    const after = await startHost({ key: keys[proposer], ledger: ledger(), store, now: GENESIS_TIME + 9_000 });
    expect(new Set(proposals(after.sent))).toEqual(new Set([signed]));
    // It does not even build another block for that round (which the guard would refuse).
    expect(after.logged.some((l) => l.startsWith('signing guard refused a proposal'))).toBe(false);
    // Its votes again, with the very same signatures.
    const earlier = new Set(votes(before.sent).map((v) => toHex(v.signature)));
    expect(votes(after.sent).length).toBeGreaterThan(0);
    for (const v of votes(after.sent)) expect(earlier.has(toHex(v.signature))).toBe(true);
  });

  it('after a restart that lost the block it proposed, proposes nothing in that round and says why', async () => {
    const { keys, proposer, ledger } = setup();
    const store = new MemoryKvStore();
    const before = await startHost({ key: keys[proposer], ledger: ledger(), store, now: GENESIS_TIME + 1_000 });
    expect(new Set(proposals(before.sent)).size).toBe(1);
    await before.host.stop();
    for await (const [key] of store.entries(PENDING_PREFIX)) await store.write([{ key, value: null }]);

    const after = await startHost({ key: keys[proposer], ledger: ledger(), store, now: GENESIS_TIME + 9_000 });
    expect(proposals(after.sent)).toEqual([]);
    expect(after.logged).toContain('round 0 of height 1: proposed before a restart, but the block is lost; no proposal from this node in this round');
    expect(after.logged.some((l) => l.startsWith('signing guard refused a proposal'))).toBe(false);
  });

  it('with no commit for 20 block intervals (at least 10 s), logs the round state once per such interval', async () => {
    const { keys, proposer, ledger } = setup();
    const warnings: { fields: object; msg: string }[] = [];
    const alone = await startHost({ key: keys[proposer], ledger: ledger(), store: new MemoryKvStore(), now: GENESIS_TIME + 1_000, warnings });
    alone.tick(9_000);
    expect(warnings).toEqual([]);
    alone.tick(2_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toBe('no commit for 11 s: height 1 round 0 prevote (running)');
    expect(warnings[0].fields).toMatchObject({
      height: 1,
      round: 0,
      bookkeepers: 4,
      rounds: 'r0: 1 proposal(s), 1 prevote(s) incl. ours, 0 precommit(s)',
      busy: 'idle',
      peers: 0,
    });
    alone.tick(5_000);
    expect(warnings).toHaveLength(1);
    alone.tick(5_000);
    expect(warnings).toHaveLength(2);
  });

  it('a signer that refuses (not the active member of a seat group) stops no host: nothing signed, then signs once allowed', async () => {
    const { keys, proposer, ledger } = setup();
    const fatal: unknown[] = [];
    const guard = await SigningGuard.open(new MemoryKvStore());
    let allowed = false;
    const signer: Signer = {
      authorize: async (height, round, step, hash) => {
        if (!allowed) throw new SigningRefusedError(`not the active member (${step} at ${height}/${round})`);
        await guard.authorize(height, round, step, hash);
      },
      signedAt: (height) => guard.signedAt(height),
    };
    const proposing = await startHost({ key: keys[proposer], ledger: ledger(), store: new MemoryKvStore(), now: GENESIS_TIME + 1_000 });
    const others = [1, 2, 3].map((i) => keys[(proposer + i) % 4]);
    const refused = await startHost({
      key: others[0],
      ledger: ledger(),
      store: new MemoryKvStore(),
      now: GENESIS_TIME + 1_000,
      signer,
      onFatal: (e) => fatal.push(e),
    });
    const proposal = proposing.sent.filter((m) => m.kind === 'proposal');
    for (const m of proposal) await refused.host.onMessage(m, 'peer');
    await refused.host.settled();
    expect(refused.sent).toEqual([]);
    expect(refused.logged.filter((l) => l.startsWith('signing guard refused'))).toEqual([
      'signing guard refused a prevote: not the active member (prevote at 1/0)',
    ]);
    expect(fatal).toEqual([]);
    // Still running: once the signer allows it, the precommit that the others' prevotes call for is signed.
    allowed = true;
    const prevoting = await Promise.all(
      others.slice(1).map((key) => startHost({ key, ledger: ledger(), store: new MemoryKvStore(), now: GENESIS_TIME + 1_000 })),
    );
    for (const h of prevoting) for (const m of proposal) await h.host.onMessage(m, 'peer');
    for (const h of [proposing, ...prevoting]) for (const m of h.sent.filter((x) => x.kind === 'vote')) await refused.host.onMessage(m, 'peer');
    await refused.host.settled();
    expect(fatal).toEqual([]);
    expect(votes(refused.sent).map((v) => [v.vote.type, toHex(v.vote.blockHash)])).toEqual([
      [VoteType.Precommit, toHex((proposal[0] as Extract<ConsensusMessage, { kind: 'proposal' }>).sp.proposal.blockHash)],
    ]);
    expect(guard.signedAt(1).map((r) => r.step)).toEqual(['precommit']);
  });

  it('takes no part in a height the chain cannot continue to (an upgrade it lacks): no proposal, no vote, told once', async () => {
    const { keys, proposer, ledger } = setup();
    const fatal: unknown[] = [];
    const why = new Error('upgrade v2 needed at height 1');
    const stopped = await startHost({
      key: keys[proposer],
      ledger: ledger(),
      store: new MemoryKvStore(),
      now: GENESIS_TIME + 1_000,
      cannotContinue: () => why,
      onFatal: (e) => fatal.push(e),
    });
    expect(stopped.sent).toEqual([]);
    expect(fatal).toEqual([why]);
    // What peers send for that height is not acted on either.
    const running = await startHost({ key: keys[(proposer + 1) % 4], ledger: ledger(), store: new MemoryKvStore(), now: GENESIS_TIME + 1_000 });
    const other = await startHost({ key: keys[proposer], ledger: ledger(), store: new MemoryKvStore(), now: GENESIS_TIME + 1_000 });
    for (const m of [...other.sent, ...running.sent]) await stopped.host.onMessage(m, 'peer');
    await stopped.host.settled();
    expect(stopped.sent).toEqual([]);
    expect(fatal).toHaveLength(1);
  });

  it('prevotes nil for a block timed more than 5 s ahead of its clock', async () => {
    const { keys, proposer, ledger } = setup();
    const from = await startHost({ key: keys[proposer], ledger: ledger(), store: new MemoryKvStore(), now: GENESIS_TIME + 10_000 });
    const sp = from.sent.find((m) => m.kind === 'proposal');
    expect(sp).toBeDefined();
    const other = keys[(proposer + 1) % 4];
    const prevote = async (now: number): Promise<string | undefined> => {
      const to = await startHost({ key: other, ledger: ledger(), store: new MemoryKvStore(), now });
      expect(await to.host.onMessage(sp!, 'peer')).toBe('accept');
      await to.host.settled();
      return votes(to.sent).map((v) => toHex(v.vote.blockHash))[0];
    };
    const hash = toHex((sp as Extract<ConsensusMessage, { kind: 'proposal' }>).sp.proposal.blockHash);
    expect(await prevote(GENESIS_TIME + 6_000)).toBe(hash);
    expect(await prevote(GENESIS_TIME + 4_000)).toBe('');
  });
});
