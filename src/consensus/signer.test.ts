import { describe, expect, it } from 'vitest';
import { MemoryKvStore } from '../store/kv.ts';
import { testKey } from '../ledger/testing.ts';
import { decodeSignedProposal, encodeSignedProposal, fromWire, openProposal, signProposal, verifyProposal } from './proposal.ts';
import { DoubleSignError, SIGNER_KEY, SigningGuard } from './signer.ts';

const A = new Uint8Array(32).fill(1);
const B = new Uint8Array(32).fill(2);
const NIL = new Uint8Array(0);

describe('signing guard', () => {
  it('allows moving forward and repeating, refuses conflicts and going back, across a restart', async () => {
    const store = new MemoryKvStore();
    const g = await SigningGuard.open(store);
    await g.authorize(5, 0, 'proposal', A);
    await g.authorize(5, 0, 'prevote', A);
    await g.authorize(5, 0, 'prevote', A); // the same vote again
    await expect(g.authorize(5, 0, 'prevote', B)).rejects.toBeInstanceOf(DoubleSignError);
    await g.authorize(5, 0, 'precommit', NIL);
    await expect(g.authorize(5, 0, 'precommit', A)).rejects.toBeInstanceOf(DoubleSignError);
    await g.authorize(5, 2, 'prevote', B);
    await expect(g.authorize(5, 1, 'prevote', B)).rejects.toThrow(/already signed prevote of round 2/);
    await expect(g.authorize(4, 9, 'prevote', B)).rejects.toThrow(/height 4/);

    const again = await SigningGuard.open(store);
    expect(again.signedAt(5).map((e) => `${e.round}/${e.step}`)).toEqual(['0/proposal', '0/prevote', '0/precommit', '2/prevote']);
    await expect(again.authorize(5, 0, 'prevote', B)).rejects.toBeInstanceOf(DoubleSignError);
    await again.authorize(5, 0, 'prevote', A);
    await again.authorize(6, 0, 'prevote', B);
    expect(again.signedAt(5)).toEqual([]);
    expect((await SigningGuard.open(store)).log.height).toBe(6);
  });

  it('serializes concurrent requests so that only one of two conflicting votes is allowed', async () => {
    const g = await SigningGuard.open(new MemoryKvStore());
    const results = await Promise.allSettled([g.authorize(1, 0, 'prevote', A), g.authorize(1, 0, 'prevote', B)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });

  it('refuses to open on a record it cannot read, rather than forget what it signed', async () => {
    const store = new MemoryKvStore();
    await store.write([{ key: SIGNER_KEY, value: Uint8Array.of(0xff, 0x01, 0x02) }]);
    await expect(SigningGuard.open(store)).rejects.toThrow(/^the store is damaged: the record of what this bookkeeper signed last \(\S+\) cannot be read/);
  });

  it('persists before it allows: a failing disk means no signature', async () => {
    const store = new MemoryKvStore();
    store.write = async () => {
      throw new Error('disk full');
    };
    const g = await SigningGuard.open(store);
    await expect(g.authorize(1, 0, 'prevote', A)).rejects.toThrow('disk full');
    expect(g.log.height).toBe(0);
  });
});

describe('proposal', () => {
  it('signs with a domain tag, round-trips, and checks the block against the hash', () => {
    const key = testKey('p');
    const p = { chainId: 'c', height: 3n, round: 2, blockHash: A, validRound: -1, proposer: key.publicKey };
    const sp = signProposal(key, p, new Uint8Array([1, 2, 3]));
    expect(sp.proposal.validRoundPlusOne).toBe(0);
    expect(verifyProposal(sp)).toBe(true);
    const back = decodeSignedProposal(encodeSignedProposal(sp));
    expect(fromWire(back.proposal)).toEqual(p);
    expect(verifyProposal({ ...sp, proposal: { ...sp.proposal, round: 3 } })).toBe(false);
    expect(verifyProposal({ ...sp, proposal: { ...sp.proposal, validRoundPlusOne: 1 } })).toBe(false);
    expect(openProposal(sp, 'c')).toMatch(/does not decode/);
    expect(openProposal(sp, 'other')).toMatch(/chain/);
    expect(() => signProposal(key, { ...p, validRound: 2 }, new Uint8Array())).toThrow();
  });
});
