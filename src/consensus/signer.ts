import { decode, encode } from '../codec/index.ts';
import { bytesEqual, toHex } from '../crypto/portable.ts';
import { VoteType, type VoteBody } from '../ledger/index.ts';
import type { KvStore } from '../store/index.ts';

// The double-sign guard. A bookkeeper that signs two different votes (or proposals) for one
// height, round and step can be slashed and can break safety, so before signing anything the
// host asks the guard, which records what is about to be signed with a synced write and refuses
// anything that conflicts with what it signed before — also after a crash and restart, because
// it reloads its record from the store. It keeps every signature of the latest height, so that a
// restarted host can re-create its own earlier votes and feed them to the consensus core.

export type SignStep = 'proposal' | 'prevote' | 'precommit';

const STEP_ORDER: Record<SignStep, number> = { proposal: 0, prevote: 1, precommit: 2 };
const STEPS: SignStep[] = ['proposal', 'prevote', 'precommit'];

export interface SignRecord {
  readonly round: number;
  readonly step: SignStep;
  /** Empty for a nil vote. */
  readonly blockHash: Uint8Array;
}

/** What was signed at the latest height the guard has seen (height 0: nothing yet). */
export interface SignLog {
  readonly height: number;
  /** In signing order, so the last entry is the highest (round, step). */
  readonly entries: readonly SignRecord[];
}

/**
 * "Do not sign this": a refusal that is not a fault of the node. The host logs it and does not
 * sign, and carries on (the seat may miss the slot). Its kinds: the local guard's DoubleSignError,
 * and a seat group's refusals (this member is not the active one, the group's record in etcd
 * forbids it, or etcd cannot be asked: src/node/signerGroup.ts).
 */
export class SigningRefusedError extends Error {
  override name = 'SigningRefusedError';
  /** A refusal that is this node's normal state (a standby member of a seat group): logged at debug, not as news. */
  readonly routine: boolean = false;
}

export class DoubleSignError extends SigningRefusedError {
  override name = 'DoubleSignError';
}

const SignEntrySchema = {
  $id: 'SignEntry',
  fields: { round: { id: 1, type: 'uint32' }, step: { id: 2, type: 'uint32' }, blockHash: { id: 3, type: 'bytes', max: 32 } },
} as const;
const SignLogSchema = {
  $id: 'SignLog',
  fields: { height: { id: 1, type: 'uint64' }, entries: { id: 2, type: { array: SignEntrySchema } } },
} as const;

export const EMPTY_SIGN_LOG: SignLog = { height: 0, entries: [] };

export function encodeSignLog(log: SignLog): Uint8Array {
  return encode(SignLogSchema, {
    height: BigInt(log.height),
    entries: log.entries.map((e) => ({ round: e.round, step: STEP_ORDER[e.step], blockHash: e.blockHash })),
  });
}

export function decodeSignLog(bytes: Uint8Array): SignLog {
  const w = decode(SignLogSchema, bytes);
  return {
    height: Number(w.height),
    entries: w.entries.map((e) => {
      const step = STEPS[e.step];
      if (!step) throw new Error(`signing log has an unknown step ${e.step}`);
      return { round: e.round, step, blockHash: e.blockHash };
    }),
  };
}

/**
 * Decides whether signing (height, round, step, blockHash) is safe after `log`: `repeat` if the
 * very same message was signed before (signing it again yields the same Ed25519 signature),
 * `new` with the log to persist if it moves forward; throws DoubleSignError otherwise.
 */
export function checkSign(
  log: SignLog,
  height: number,
  round: number,
  step: SignStep,
  blockHash: Uint8Array,
): { kind: 'repeat' } | { kind: 'new'; log: SignLog } {
  if (!Number.isSafeInteger(height) || height < 1 || !Number.isInteger(round) || round < 0) {
    throw new DoubleSignError(`cannot sign at height ${height}, round ${round}`);
  }
  const record: SignRecord = { round, step, blockHash };
  if (height > log.height) return { kind: 'new', log: { height, entries: [record] } };
  if (height < log.height) throw new DoubleSignError(`refusing to sign at height ${height}: already signed at height ${log.height}`);
  const same = log.entries.find((e) => e.round === round && e.step === step);
  if (same) {
    if (bytesEqual(same.blockHash, blockHash)) return { kind: 'repeat' };
    throw new DoubleSignError(
      `refusing to sign a second ${step} at height ${height}, round ${round}: signed ${toHex(same.blockHash) || 'nil'}, asked ${toHex(blockHash) || 'nil'}`,
    );
  }
  const last = log.entries[log.entries.length - 1];
  if (last && (round < last.round || (round === last.round && STEP_ORDER[step] < STEP_ORDER[last.step]))) {
    throw new DoubleSignError(`refusing to sign ${step} of round ${round} at height ${height}: already signed ${last.step} of round ${last.round}`);
  }
  return { kind: 'new', log: { height, entries: [...log.entries, record] } };
}

export const SIGNER_KEY = 'consensus/signer';

/**
 * The votes a restarted validator signed at `height` (from its guard's log), to be signed again
 * (Ed25519 gives the same signature) and fed back to its core. Proposals are left out: re-sending
 * one needs the block, which only the host holds.
 */
export function ownVotes(entries: readonly SignRecord[], chainId: string, height: number, validator: Uint8Array): VoteBody[] {
  return entries
    .filter((e) => e.step !== 'proposal')
    .map((e) => ({
      chainId,
      type: e.step === 'prevote' ? VoteType.Prevote : VoteType.Precommit,
      height: BigInt(height),
      round: e.round,
      blockHash: e.blockHash,
      validator,
    }));
}

export class SigningGuard {
  private readonly store: KvStore;
  private readonly key: string;
  private current: SignLog;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(store: KvStore, key: string, log: SignLog) {
    this.store = store;
    this.key = key;
    this.current = log;
  }

  /**
   * Loads the guard's record from `store` (an empty one on first use). `previous`: where an older
   * version kept it (the chain's store); a record found only there is carried over first.
   */
  static async open(store: KvStore, key = SIGNER_KEY, previous?: KvStore): Promise<SigningGuard> {
    let bytes = await store.get(key);
    if (!bytes && previous) {
      bytes = await previous.get(key);
      if (bytes) await store.write([{ key, value: bytes }], true);
    }
    if (!bytes) return new SigningGuard(store, key, EMPTY_SIGN_LOG);
    try {
      return new SigningGuard(store, key, decodeSignLog(bytes));
    } catch (e) {
      // Starting without it could sign twice at the height it was signing: refuse, and say why.
      throw new Error(`the store is damaged: the record of what this bookkeeper signed last (${key}) cannot be read (${(e as Error).message})`, { cause: e });
    }
  }

  get log(): SignLog {
    return this.current;
  }

  /** What was signed at `height` (empty unless it is the latest height signed at). */
  signedAt(height: number): readonly SignRecord[] {
    return height === this.current.height ? this.current.entries : [];
  }

  /**
   * Resolves once signing is safe and recorded on disk (a synced write); rejects with
   * DoubleSignError when it would conflict. Calls are serialized.
   */
  authorize(height: number, round: number, step: SignStep, blockHash: Uint8Array): Promise<void> {
    const run = this.queue.then(async () => {
      const r = checkSign(this.current, height, round, step, blockHash);
      if (r.kind === 'repeat') return;
      await this.store.write([{ key: this.key, value: encodeSignLog(r.log) }], true);
      this.current = r.log;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
