import { encode } from '../../codec/index.ts';
import { requirePositive, requireRecipient, sendToMain } from '../context.ts';
import { fail } from '../errors.ts';
import { ProposalContentFields, ProposalSubmissionSchema, ProposalType, VoteOption } from '../gov/entries.ts';
import { contentProblem, minInitialDeposit, proposalIdBytes, requireOpen } from '../gov/lifecycle.ts';
import { paramValueProblem } from '../gov/params.ts';
import * as stores from '../stores.ts';
import { ReceiptKind } from '../receipts.ts';
import { defineOp } from './operation.ts';

// Governance's transactions (src/ledger/gov/ holds proposals' life on main). A proposal and a
// deposit move the sender's ZNC, so they run on its home chain and reach main by receipt; a vote
// is a record on main, beside the proposal it is for.

/** Opens a proposal with a first deposit (its vote starts once deposits reach the minimum). */
export const govPropose = defineOp({
  kind: 36,
  name: 'GovPropose',
  schema: { $id: 'GovPropose', fields: { ...ProposalContentFields, deposit: { id: 10, type: 'uint64' } } },
  // The deposit is the proposer's ZNC, on its home chain; the proposal itself is made on main by receipt.
  route: 'home',
  admit(ctx, _tx, p) {
    requirePositive(p.deposit, 'deposit');
    const least = minInitialDeposit(ctx.params.governance);
    if (p.deposit < least) {
      fail('INVALID_AMOUNT', `a proposal opens with a deposit of at least ${least} base units (a quarter of the minimum deposit); ${p.deposit} offered`);
    }
    if (p.type === ProposalType.ParamChange) {
      for (const c of p.changes) {
        const why = paramValueProblem(c.name, c.value);
        if (why) fail('INVALID_PARAM', why);
      }
    }
    const why = contentProblem(ctx, p);
    if (why) fail('INVALID_ARGUMENT', why);
    if (p.type === ProposalType.ReserveSpend) requireRecipient(ctx, p.recipient);
  },
  apply(ctx, tx, p) {
    const { deposit, ...content } = p;
    sendToMain(ctx, tx, deposit, ReceiptKind.GovSubmit, encode(ProposalSubmissionSchema, { ...content, tx: tx.hash }));
  },
});

/** Adds to a proposal's deposit; returned when the proposal ends, unless it is vetoed. */
export const govDeposit = defineOp({
  kind: 37,
  name: 'GovDeposit',
  schema: { $id: 'GovDeposit', fields: { proposal: { id: 1, type: 'uint64' }, amount: { id: 2, type: 'uint64' } } },
  // The deposit is the sender's ZNC, on its home chain; it joins the proposal on main by receipt.
  route: 'home',
  admit(ctx, _tx, p) {
    requirePositive(p.amount);
    // As main stood at the previous height: a proposal that ends meanwhile sends the deposit back.
    requireOpen(ctx.main, p.proposal, 'deposit');
  },
  apply(ctx, tx, p) {
    sendToMain(ctx, tx, p.amount, ReceiptKind.GovDeposit, proposalIdBytes(p.proposal));
  },
});

/** Votes on an open proposal (a later vote replaces an earlier one); it also decides for the voter's delegators who do not vote. */
export const govVote = defineOp({
  kind: 38,
  name: 'GovVote',
  schema: { $id: 'GovVote', fields: { proposal: { id: 1, type: 'uint64' }, option: { id: 2, type: 'uint32' } } },
  // Votes are counted on main, with the stakes and proxies that weigh them.
  route: 'main',
  admit(ctx, _tx, p) {
    if (p.option < VoteOption.Yes || p.option > VoteOption.Veto) fail('INVALID_ARGUMENT', 'a vote is 1 yes, 2 no, 3 abstain or 4 veto');
    requireOpen(ctx.state, p.proposal, 'vote');
  },
  apply(ctx, tx, p) {
    stores.govVotes.set(ctx.state, p.proposal, tx.fromHex, { option: p.option });
  },
});
