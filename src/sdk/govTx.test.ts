import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, decodeTx, encodeAddress, keyPairFromSeed, ProposalType, signTx, TxKind, VoteOption } from './index.ts';
import { Tx } from './tx.ts';

// Governance's transaction builders: each proposal type fills its own fields and leaves the
// others neutral (the ledger refuses a proposal carrying another type's fields), votes by name.

const key = keyPairFromSeed(new Uint8Array(32).fill(7));
const signed = (intent: ReturnType<typeof Tx.govPropose>) => decodeTx(signTx(key, { chainId: 't', kind: intent.kind, nonce: 0n, payload: intent.payload }));

describe('governance builders', () => {
  it('fill each proposal type and leave the other types fields neutral', () => {
    const text = Tx.proposeText({ title: 'Hello', deposit: 5n });
    expect(text.kind).toBe(TxKind.GovPropose);
    expect(text.payload).toMatchObject({
      type: ProposalType.Text,
      title: 'Hello',
      description: '',
      changes: [],
      amount: 0n,
      upgradeName: '',
      upgradeHeight: 0n,
      deposit: 5n,
    });
    expect(text.payload.recipient).toEqual(new Uint8Array(0));

    const pc = Tx.proposeParamChange({ title: 'Bond', deposit: 1n, changes: { 'market.minWorkerBond': 2_000_000_000n, 'governance.quorumBp': 3000 } });
    expect(pc.payload.type).toBe(ProposalType.ParamChange);
    expect(pc.payload.changes).toEqual([
      { name: 'market.minWorkerBond', value: '2000000000' },
      { name: 'governance.quorumBp', value: '3000' },
    ]);

    expect(() => Tx.proposeReserveSpend({ title: 'Pay', deposit: 1n, to: 'znc1nope', amount: 3n })).toThrow();
    const addr = addressFromPublicKey(key.publicKey);
    const rs = Tx.proposeReserveSpend({ title: 'Pay', deposit: 1n, to: encodeAddress(addr), amount: 3n });
    expect(rs.payload).toMatchObject({ type: ProposalType.ReserveSpend, amount: 3n, upgradeName: '' });
    expect(rs.payload.recipient).toEqual(addr);

    const up = Tx.proposeUpgrade({ title: 'v2', deposit: 1n, name: 'v2', height: 500, info: 'https://example.org/v2' });
    expect(up.payload).toMatchObject({
      type: ProposalType.Upgrade,
      upgradeName: 'v2',
      upgradeHeight: 500n,
      upgradeInfo: 'https://example.org/v2',
      changes: [],
    });

    // They encode: every field within the schema's bounds.
    for (const intent of [text, pc, rs, up]) expect(signed(intent).kind).toBe(TxKind.GovPropose);
    expect(Tx.govPropose({ type: 'upgrade', title: 'v2', deposit: 1n, name: 'v2', height: 500 }).payload).toEqual({ ...up.payload, upgradeInfo: '' });
  });

  it('votes and deposits by proposal id and option name', () => {
    expect(Tx.govVote({ proposal: '12', option: 'veto' })).toEqual({ kind: TxKind.GovVote, payload: { proposal: 12n, option: VoteOption.Veto } });
    expect(Tx.govVote({ proposal: 3, option: 'abstain' }).payload.option).toBe(VoteOption.Abstain);
    expect(Tx.govDeposit({ proposal: 4n, amount: 9n })).toEqual({ kind: TxKind.GovDeposit, payload: { proposal: 4n, amount: 9n } });
    expect(() => Tx.govVote({ proposal: 1, option: 'maybe' as 'yes' })).toThrow(/yes, no, abstain or veto/);
    expect(() => Tx.govVote({ proposal: 'x', option: 'yes' })).toThrow(/not a proposal id/);
    expect(() => Tx.govDeposit({ proposal: -1, amount: 1n })).toThrow(/not a proposal id/);
  });
});
