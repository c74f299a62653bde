import { ADDRESS_BYTES, addressProblem } from '../crypto/portable.ts';

// Field rules shared by what transactions carry, what receipts carry and what the state stores.
// The codec checks a rule both when it decodes (a transaction is refused at admission, with the
// rule's code) and when it encodes (a handler that would store a value breaking it fails inside
// its own transaction), so no transaction can put into state a value the state cannot hold.

const optional = (b: Uint8Array): string | undefined => (b.length === 0 ? undefined : addressProblem(b));

/** An address of a known kind: 21 bytes, a kind byte (key, multisig, system) and 20 hash bytes. */
export const ADDRESS_RULE = { max: ADDRESS_BYTES, check: addressProblem, code: 'INVALID_ADDRESS' } as const;
/** An address, or empty for "none" (or "the sender", where the field says so). */
export const OPTIONAL_ADDRESS_RULE = { max: ADDRESS_BYTES, check: optional, code: 'INVALID_ADDRESS' } as const;
/** An address a transaction sends value or rights to. */
export const RECIPIENT_RULE = { ...ADDRESS_RULE, code: 'INVALID_RECIPIENT' } as const;
export const OPTIONAL_RECIPIENT_RULE = { ...OPTIONAL_ADDRESS_RULE, code: 'INVALID_RECIPIENT' } as const;

export const address = { type: 'bytes', ...ADDRESS_RULE } as const;
export const optionalAddress = { type: 'bytes', ...OPTIONAL_ADDRESS_RULE } as const;
export const recipient = { type: 'bytes', ...RECIPIENT_RULE } as const;
export const optionalRecipient = { type: 'bytes', ...OPTIONAL_RECIPIENT_RULE } as const;

/** Codes a field rule may refuse a transaction with (the rest of the codec's faults are BAD_ENCODING). */
export const FIELD_RULE_CODES = ['INVALID_ADDRESS', 'INVALID_RECIPIENT'] as const;

/** A task id: its first byte names the inner chain that holds the task, its escrow and leases. */
export const taskId = { type: 'bytes', length: 32 } as const;
/** A token symbol (ZNC or a sub-token's). */
export const tokenSymbol = { type: 'string', max: 10 } as const;
/** One period's metered usage, as a lease's reports and its last word carry it. */
export const usageFields = {
  cpuSeconds: { id: 10, type: 'uint64' },
  memoryGiBSeconds: { id: 11, type: 'uint64' },
  gpuSeconds: { id: 12, type: 'uint64' },
  networkBytes: { id: 13, type: 'uint64' },
  wallMs: { id: 14, type: 'uint64' },
} as const;
