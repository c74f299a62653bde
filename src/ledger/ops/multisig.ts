import * as stores from '../stores.ts';
import { AddressKind, addressKind, addressOf, bytesEqual, concatBytes, encodeAddress, sha256, toHex, utf8 } from '../../crypto/portable.ts';
import { credit, debit, readAccount, requirePositive, requireRecipient, requireToken, writeAccount, type ExecContext } from '../context.ts';
import type { Multisig, Proposal } from '../entries.ts';
import { fail } from '../errors.ts';
import { address, ADDRESS_RULE, recipient, tokenSymbol } from '../fields.ts';
import { defineOp } from './operation.ts';

// Multisig accounts live on main (their addresses are not keys', so they have no home chain):
// created, proposed to, approved and executed there.

/** Address of the multisig account a creator's transaction with `nonce` creates. */
export function multisigAddress(creator: Uint8Array, nonce: bigint): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, nonce);
  return addressOf(AddressKind.Multisig, sha256(utf8('zeus/address/multisig'), concatBytes(creator, n)));
}

function requireMultisig(ctx: ExecContext, account: Uint8Array): Multisig {
  const ms = stores.multisigs.get(ctx.state, toHex(account));
  if (!ms) fail('UNKNOWN_ACCOUNT', `no multisig account ${encodeAddress(account)}`);
  return ms;
}

function requireMember(ms: Multisig, who: Uint8Array, account: Uint8Array): void {
  if (!ms.members.some((m) => bytesEqual(m, who))) {
    fail('NOT_AUTHORIZED', `${encodeAddress(who)} is not a member of multisig ${encodeAddress(account)}`);
  }
}

function requireProposal(ctx: ExecContext, account: Uint8Array, id: bigint): Proposal {
  const p = stores.proposals.get(ctx.state, toHex(account), id);
  if (!p) fail('UNKNOWN_PROPOSAL', `multisig ${encodeAddress(account)} has no proposal ${id}`);
  if (p.executed) fail('ALREADY_EXECUTED', `proposal ${id} was already executed`);
  return p;
}

export function validateMultisigDefinition(members: Uint8Array[], threshold: number): void {
  if (members.length === 0) fail('INVALID_ARGUMENT', 'a multisig needs at least one member');
  const seen = new Set<string>();
  for (const m of members) {
    if (addressKind(m) !== AddressKind.Key) fail('INVALID_ARGUMENT', `member ${encodeAddress(m)} must be a key address`);
    const h = toHex(m);
    if (seen.has(h)) fail('INVALID_ARGUMENT', `member ${encodeAddress(m)} is listed twice`);
    seen.add(h);
  }
  if (threshold < 1 || threshold > members.length) {
    fail('INVALID_ARGUMENT', `threshold must be between 1 and ${members.length} (the number of members)`);
  }
}

export const multisigCreate = defineOp({
  kind: 5,
  name: 'MultisigCreate',
  schema: {
    $id: 'MultisigCreate',
    fields: { members: { id: 1, type: { array: 'bytes', max: 20 }, ...ADDRESS_RULE }, threshold: { id: 2, type: 'uint32' } },
  },
  // The account it creates is a multisig address, which lives on main.
  route: 'main',
  admit(_ctx, _tx, p) {
    validateMultisigDefinition(p.members, p.threshold);
  },
  apply(ctx, tx, p) {
    const addr = multisigAddress(tx.from, tx.nonce);
    stores.multisigs.set(ctx.state, toHex(addr), { members: p.members, threshold: p.threshold, nextProposal: 1n, label: '' });
  },
});

export const multisigPropose = defineOp({
  kind: 6,
  name: 'MultisigPropose',
  schema: {
    $id: 'MultisigPropose',
    fields: {
      account: { id: 1, ...address },
      to: { id: 2, ...recipient },
      token: { id: 3, ...tokenSymbol },
      amount: { id: 4, type: 'uint64' },
      memo: { id: 5, type: 'string', max: 256 },
    },
  },
  // The multisig account and its proposals live on main.
  route: 'main',
  apply(ctx, tx, p) {
    const ms = requireMultisig(ctx, p.account);
    requireMember(ms, tx.from, p.account);
    // Neither the holders alone nor the reserve's members alone may spend it: a payment from the
    // reserve starts as a passed reserve-spend vote, which proposes it here for them to approve.
    if (bytesEqual(p.account, ctx.reserve)) {
      fail(
        'NOT_AUTHORIZED',
        'the development reserve pays only what a passed reserve-spend proposal asks (zeus gov propose --type reserve-spend); its members approve that',
      );
    }
    requirePositive(p.amount);
    requireToken(ctx, p.token);
    requireRecipient(ctx, p.to);
    const id = ms.nextProposal;
    stores.multisigs.set(ctx.state, toHex(p.account), { ...ms, nextProposal: id + 1n });
    stores.proposals.set(ctx.state, toHex(p.account), id, {
      proposer: tx.from,
      to: p.to,
      token: p.token,
      amount: p.amount,
      memo: p.memo,
      approvals: [tx.from],
      executed: false,
    });
  },
});

export const multisigApprove = defineOp({
  kind: 7,
  name: 'MultisigApprove',
  schema: { $id: 'MultisigApprove', fields: { account: { id: 1, ...address }, proposal: { id: 2, type: 'uint64' } } },
  // The multisig account and its proposals live on main.
  route: 'main',
  apply(ctx, tx, p) {
    const ms = requireMultisig(ctx, p.account);
    requireMember(ms, tx.from, p.account);
    const prop = requireProposal(ctx, p.account, p.proposal);
    if (prop.approvals.some((a) => bytesEqual(a, tx.from))) fail('ALREADY_APPROVED', `${encodeAddress(tx.from)} already approved proposal ${p.proposal}`);
    stores.proposals.set(ctx.state, toHex(p.account), p.proposal, { ...prop, approvals: [...prop.approvals, tx.from] });
  },
});

/** Pays out an approved proposal from the multisig's balance on main. */
export const multisigExecute = defineOp({
  kind: 8,
  name: 'MultisigExecute',
  schema: { $id: 'MultisigExecute', fields: { account: { id: 1, ...address }, proposal: { id: 2, type: 'uint64' } } },
  // The multisig's balance is on main, with its proposals.
  route: 'main',
  apply(ctx, tx, p) {
    const ms = requireMultisig(ctx, p.account);
    requireMember(ms, tx.from, p.account);
    const prop = requireProposal(ctx, p.account, p.proposal);
    if (prop.approvals.length < ms.threshold) {
      fail('THRESHOLD_NOT_MET', `proposal ${p.proposal} has ${prop.approvals.length} of ${ms.threshold} approvals`);
    }
    const hex = toHex(p.account);
    const acc = readAccount(ctx.state, hex);
    debit(ctx, acc, prop.token, prop.amount, p.account);
    writeAccount(ctx.state, hex, acc);
    stores.proposals.set(ctx.state, hex, p.proposal, { ...prop, executed: true });
    credit(ctx, prop.to, prop.token, prop.amount);
  },
});
