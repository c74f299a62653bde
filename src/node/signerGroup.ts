import { performance } from 'node:perf_hooks';
import type { Etcd3, IKeyValue, ITxnResponse, Lease } from 'etcd3';
import { checkSign, DoubleSignError, type Signer, type SignLog, type SignRecord, type SignStep, SigningRefusedError } from '../consensus/index.ts';
import { fromHex, toHex } from '../crypto/index.ts';

// A bookkeeper seat kept by a group of node processes that share the seat's key (docs/BOOKKEEPERS.md,
// "A seat kept by a group"). etcd (its Raft) decides which member signs: each member holds an etcd
// lease and campaigns for the group's leader key with it; the holder is the active member. Before
// every signature the active member advances the group's high-water mark (`signed`) with ONE etcd
// transaction that compares both "my leader key is still there, created when I won" and "the mark
// is what I last read": a deposed leader that has not noticed yet cannot get a conflicting message
// through, whatever its clock says. The local double-sign guard is still asked afterwards. Any etcd
// error or timeout is a refusal: without etcd's quorum the seat misses slots instead of risking a
// double sign.
//
// Keys under /zeus/<chainId>/groups/<group>/:
//   leader  the active member's name, attached to its lease (gone when the lease ends)
//   signed  JSON GroupMark: the last (height, round, step, blockHash) signed, by whom, and what
//           else was signed at that height (so re-signing the very same message is allowed)

export interface SignerGroupOptions {
  /** etcd client URLs, e.g. ['http://127.0.0.1:23790', …]. */
  endpoints: string[];
  chainId: string;
  group: string;
  /** This process's name, unique in the group. */
  member: string;
  /** Default 2 (etcd's minimum is 1). A crashed active member is replaced within about ttl + one campaign round. */
  leaseTtlSec?: number;
  log?: (msg: string) => void;
  /** Bound on every etcd call (default 1,000 ms): past it the call counts as failed and nothing is signed. */
  callTimeoutMs?: number;
  /** How often a member campaigns and checks its leadership (default 100 ms). */
  campaignEveryMs?: number;
  /** Monotonic milliseconds (default performance.now). Fault tests give a member a clock that lies. */
  clock?: () => number;
}

/** The group's record in etcd (`signed`). */
export interface GroupMark {
  height: number;
  round: number;
  step: SignStep;
  /** Hex; empty for a nil vote. */
  blockHash: string;
  member: string;
  /** Everything signed at `height`, in order (the last entry is the mark itself). */
  entries: { round: number; step: SignStep; blockHash: string }[];
}

export interface SignerGroupStats {
  active: boolean;
  /** The leader key's holder as last seen (undefined: none, or not known yet). */
  leader: string | undefined;
  /** Times this member became active after another member had been seen holding the seat. */
  failovers: number;
  /** Authorizations refused at the etcd step: the transaction's compare failed, the group's mark forbade it, or etcd did not answer in time. */
  refusedCas: number;
  /** Authorizations refused because this member was not active. */
  refusedInactive: number;
  /** Successful transactions (the mark advanced, or confirmed for a repeat). */
  casOk: number;
}

/** This member does not hold the group's leadership (with a live lease) right now. */
export class NotActiveError extends SigningRefusedError {
  override name = 'NotActiveError';
  // A standby member refuses several times a height while it follows: that is what it is for.
  override readonly routine = true;
}

/** The group's mark forbids it: another member (or this one) signed a conflicting or later message. */
export class GroupConflictError extends SigningRefusedError {
  override name = 'GroupConflictError';
}

/** etcd did not answer in time (no quorum, unreachable): the mark cannot be advanced, so nothing is signed. */
export class GroupUnavailableError extends SigningRefusedError {
  override name = 'GroupUnavailableError';
}

interface HeldLease {
  readonly lease: Lease;
  readonly id: string;
  /** Local (monotonic) time until which the lease is surely alive in etcd: last keepalive sent + ttl - margin. */
  validUntil: number;
  lastKeepaliveAt: number;
}

interface CachedMark {
  readonly log: SignLog;
  readonly member: string;
  /** `signed`'s mod revision ('0': absent). */
  readonly modRevision: string;
}

const EMPTY_MARK: CachedMark = { log: { height: 0, entries: [] }, member: '', modRevision: '0' };

export function groupPrefix(chainId: string, group: string): string {
  return `/zeus/${chainId}/groups/${group}/`;
}

export function encodeGroupMark(log: SignLog, member: string): string {
  const last = log.entries[log.entries.length - 1];
  const mark: GroupMark = {
    height: log.height,
    round: last.round,
    step: last.step,
    blockHash: toHex(last.blockHash),
    member,
    entries: log.entries.map((e) => ({ round: e.round, step: e.step, blockHash: toHex(e.blockHash) })),
  };
  return JSON.stringify(mark);
}

/** Reads `signed`; throws on anything malformed (the caller refuses to sign then). */
export function decodeGroupMark(text: string): { log: SignLog; member: string } {
  const m = JSON.parse(text) as GroupMark;
  const step = (s: unknown): SignStep => {
    if (s !== 'proposal' && s !== 'prevote' && s !== 'precommit') throw new Error(`unknown step ${String(s)}`);
    return s;
  };
  if (!Number.isSafeInteger(m.height) || m.height < 1 || !Array.isArray(m.entries) || m.entries.length === 0) throw new Error('no height or entries');
  const entries: SignRecord[] = m.entries.map((e) => {
    if (!Number.isInteger(e.round) || e.round < 0 || typeof e.blockHash !== 'string') throw new Error('bad entry');
    return { round: e.round, step: step(e.step), blockHash: fromHex(e.blockHash) };
  });
  return { log: { height: m.height, entries }, member: typeof m.member === 'string' ? m.member : '' };
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export class SignerGroup {
  private readonly o: Required<Omit<SignerGroupOptions, 'log'>> & { log: (msg: string) => void };
  private readonly client: Etcd3;
  private readonly leaderKey: string;
  private readonly signedKey: string;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private held: HeldLease | undefined;
  /** The leader key's create revision while this member holds it. */
  private leading: string | undefined;
  private mark: CachedMark = EMPTY_MARK;
  private leaderSeen: string | undefined;
  private othersSeen = false;
  private closed = false;
  private suspendedUntil = 0;
  private wasActive = false;
  private readonly listeners = new Set<(active: boolean) => void>();
  private readonly counts = { failovers: 0, refusedCas: 0, refusedInactive: 0, casOk: 0 };
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private campaigning = false;
  private keepaliveRunning = false;
  private etcdFailing = false;

  private constructor(o: SignerGroupOptions, EtcdClient: typeof Etcd3) {
    const ttl = o.leaseTtlSec ?? 2;
    if (!Number.isInteger(ttl) || ttl < 1) throw new Error(`leaseTtlSec must be a whole number of seconds ≥ 1 (etcd's minimum), got ${ttl}`);
    for (const [what, v] of [
      ['group', o.group],
      ['member', o.member],
      ['chainId', o.chainId],
    ] as const) {
      if (!NAME.test(v)) throw new Error(`the signer group's ${what} must be 1-64 letters, digits, '.', '_' or '-', got '${v}'`);
    }
    if (o.endpoints.length === 0) throw new Error('a signer group needs at least one etcd endpoint');
    this.o = {
      endpoints: o.endpoints,
      chainId: o.chainId,
      group: o.group,
      member: o.member,
      leaseTtlSec: ttl,
      log: o.log ?? (() => undefined),
      callTimeoutMs: o.callTimeoutMs ?? 1_000,
      campaignEveryMs: o.campaignEveryMs ?? 100,
      clock: o.clock ?? (() => performance.now()),
    };
    this.ttlMs = ttl * 1000;
    // The lease is surely alive in etcd until (keepalive sent) + ttl, as etcd counts from when it
    // received the keepalive; the margin covers clock-rate differences and this process's own lag
    // between reading the clock and acting on it.
    this.marginMs = Math.max(150, this.ttlMs / 5);
    const prefix = groupPrefix(o.chainId, o.group);
    this.leaderKey = `${prefix}leader`;
    this.signedKey = `${prefix}signed`;
    const timeout = this.o.callTimeoutMs;
    this.client = new EtcdClient({
      hosts: o.endpoints,
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
  }

  /** Connects and starts campaigning; does not wait to win (see `active`, `onChange`). */
  static async join(o: SignerGroupOptions): Promise<SignerGroup> {
    // etcd's client (gRPC, protobuf, OpenTelemetry: ~200 modules, ~0.3 s of CPU) loads only for a
    // node that has a signer group, not at every start of every node.
    const { Etcd3 } = await import('etcd3');
    const g = new SignerGroup(o, Etcd3);
    g.schedule(0);
    return g;
  }

  get member(): string {
    return this.o.member;
  }

  /** Holds the group's leadership with a lease that is alive by this member's clock right now. */
  get active(): boolean {
    return !this.closed && this.leading !== undefined && this.held !== undefined && this.o.clock() < this.held.validUntil;
  }

  stats(): SignerGroupStats {
    return { active: this.active, leader: this.leaderSeen, ...this.counts };
  }

  onChange(fn: (active: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The Signer the consensus host uses: the group's check in etcd, then the local guard. */
  signer(local: Signer): Signer {
    return {
      authorize: (height, round, step, blockHash) => {
        const run = this.queue.then(async () => {
          await this.advanceMark(height, round, step, blockHash);
          await local.authorize(height, round, step, blockHash);
        });
        this.queue = run.catch(() => undefined);
        return run;
      },
      signedAt: (height) => local.signedAt(height),
    };
  }

  /** Resigns (revokes the lease, so the leader key goes at once) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.queue;
    const held = this.held;
    this.held = undefined;
    this.leading = undefined;
    if (held)
      await this.bounded(held.lease.revoke()).catch((e: unknown) => this.o.log(`signer group: could not revoke the lease on leaving (${errorText(e)})`));
    this.client.close();
    this.notify();
  }

  /**
   * A crash, for fault tests: keepalives stop and the connection is dropped without releasing
   * the lease, so the others take over only once etcd expires it.
   */
  abandon(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.held?.lease.release();
    this.client.close();
    this.notify();
  }

  /** A stalled process, for fault tests: no keepalives and no campaigning for `ms` (authorize still runs). */
  suspend(ms: number): void {
    this.suspendedUntil = performance.now() + ms;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.tick(), ms);
  }

  /**
   * Every campaign round: says whether the member is still active (its lease may have run out by
   * its clock), sends a keepalive when one is due, and campaigns (or checks that it still leads)
   * unless the last campaign is still waiting for etcd. None of them waits for another.
   */
  private tick(): void {
    if (this.closed) return;
    this.notify();
    if (performance.now() >= this.suspendedUntil) {
      this.keepalive();
      if (!this.campaigning) {
        this.campaigning = true;
        this.campaign()
          .catch((e: unknown) => this.etcdTrouble(e))
          .finally(() => {
            this.campaigning = false;
            this.notify();
          });
      }
    }
    this.schedule(this.o.campaignEveryMs);
  }

  /** Sends a keepalive every ttl/4, apart from the campaign so a slow transaction cannot delay it. */
  private keepalive(): void {
    const held = this.held;
    if (!held || this.keepaliveRunning || this.o.clock() - held.lastKeepaliveAt < this.ttlMs / 4) return;
    this.keepaliveRunning = true;
    const sent = this.o.clock();
    held.lastKeepaliveAt = sent;
    this.bounded(held.lease.keepaliveOnce({ deadline: Date.now() + this.o.callTimeoutMs }))
      .then((res) => {
        if (this.held !== held) return;
        if (res.TTL === '0') return this.dropLease('etcd says the lease has expired');
        held.validUntil = Math.max(held.validUntil, sent + this.ttlMs - this.marginMs);
        this.etcdOk();
      })
      .catch((e: unknown) => {
        if (this.held !== held || this.closed) return;
        if (e instanceof Error && e.name === 'EtcdLeaseInvalidError') return this.dropLease('etcd says the lease has expired');
        this.etcdTrouble(e);
      })
      .finally(() => {
        this.keepaliveRunning = false;
      });
  }

  private dropLease(why: string): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    if (this.leading !== undefined) this.o.log(`signer group ${this.o.group}: ${this.o.member} is no longer active: ${why}`);
    this.leading = undefined;
    held.lease.release();
    // If etcd still has it, ending it now lets another member take over sooner; nothing depends on it.
    this.bounded(held.lease.revoke()).catch(() => undefined);
    this.notify();
  }

  private async campaign(): Promise<void> {
    const now = this.o.clock();
    if (this.held && now >= this.held.validUntil) this.dropLease('no keepalive answered within the lease (by this member’s clock)');
    if (!this.held) {
      const lease = this.client.lease(this.o.leaseTtlSec, { autoKeepAlive: false });
      const sent = this.o.clock();
      let id: string;
      try {
        id = await this.bounded(lease.grant());
      } catch (e) {
        lease.release();
        throw e;
      }
      if (this.closed) {
        await this.bounded(lease.revoke()).catch(() => undefined);
        return;
      }
      this.held = { lease, id, validUntil: sent + this.ttlMs - this.marginMs, lastKeepaliveAt: sent };
    }
    const held = this.held;
    const res = await this.bounded(
      this.client
        .if(this.leaderKey, 'Create', '==', 0)
        .then(this.client.put(this.leaderKey).value(this.o.member).lease(held.id), this.client.get(this.signedKey))
        .else(this.client.get(this.leaderKey))
        .commit(),
    );
    this.etcdOk();
    if (this.held !== held || this.closed) return;
    if (res.succeeded) {
      this.leading = res.header.revision;
      this.mark = readMark(res.responses[1].response_range.kvs[0]);
      this.becameLeader(`won the election (leader key revision ${this.leading})`);
      return;
    }
    const kv = res.responses[0].response_range.kvs[0];
    const holder = kv?.value.toString();
    if (kv && kv.lease === held.id) {
      if (this.leading !== kv.create_revision) {
        // Our own key (a campaign whose answer timed out was applied after all): adopt it.
        this.leading = kv.create_revision;
        this.mark = readMark((await this.bounded(this.client.get(this.signedKey).exec())).kvs[0]);
        this.becameLeader(`holds the leader key (revision ${this.leading})`);
      }
      return;
    }
    if (this.leading !== undefined) {
      this.o.log(`signer group ${this.o.group}: ${this.o.member} is no longer active: the leader key is ${holder ? `held by ${holder}` : 'gone'}`);
      this.leading = undefined;
    }
    if (holder !== undefined) {
      if (holder !== this.o.member) this.othersSeen = true;
      this.leaderSeen = holder;
    }
  }

  private becameLeader(how: string): void {
    if (this.othersSeen) this.counts.failovers++;
    this.leaderSeen = this.o.member;
    this.othersSeen = false;
    const m = this.mark.log;
    this.o.log(
      `signer group ${this.o.group}: ${this.o.member} is active: ${how}; the group last signed ${m.height === 0 ? 'nothing' : `height ${m.height} ${describeLast(m)} (${this.mark.member})`}`,
    );
    this.notify();
  }

  /** The etcd step of authorize: refuses, or returns once the group's mark covers this message. */
  private async advanceMark(height: number, round: number, step: SignStep, blockHash: Uint8Array): Promise<void> {
    const what = `${step} at height ${height} round ${round}`;
    if (!this.active) {
      this.counts.refusedInactive++;
      throw new NotActiveError(`${this.o.member} is not the active member of signer group ${this.o.group}: not signing the ${what}`);
    }
    const leading = this.leading!;
    const leaseId = this.held!.id;
    for (let attempt = 0; ; attempt++) {
      const mark = this.mark;
      let decision: ReturnType<typeof checkSign>;
      try {
        decision = checkSign(mark.log, height, round, step, blockHash);
      } catch (e) {
        if (!(e instanceof DoubleSignError)) throw e;
        this.counts.refusedCas++;
        throw new GroupConflictError(`signer group ${this.o.group}: ${e.message} (the group's record, by ${mark.member || '?'})`);
      }
      let res: ITxnResponse;
      try {
        const txn = this.client
          .if(this.leaderKey, 'Create', '==', leading)
          .and(this.leaderKey, 'Lease', '==', leaseId)
          .and(this.signedKey, 'Mod', '==', mark.modRevision);
        if (decision.kind === 'new') txn.then(this.client.put(this.signedKey).value(encodeGroupMark(decision.log, this.o.member)));
        res = await this.bounded(txn.else(this.client.get(this.leaderKey), this.client.get(this.signedKey)).commit());
      } catch (e) {
        this.counts.refusedCas++;
        this.etcdTrouble(e);
        throw new GroupUnavailableError(`signer group ${this.o.group}: etcd did not confirm the ${what} (${errorText(e)}): not signing it`);
      }
      this.etcdOk();
      if (res.succeeded) {
        if (decision.kind === 'new') this.mark = { log: decision.log, member: this.o.member, modRevision: res.header.revision };
        this.counts.casOk++;
        return;
      }
      const leaderKv = res.responses[0].response_range.kvs[0];
      try {
        this.mark = readMark(res.responses[1].response_range.kvs[0]);
      } catch (e) {
        this.counts.refusedCas++;
        throw new GroupConflictError(`signer group ${this.o.group}: the group's record cannot be read (${errorText(e)}): not signing the ${what}`);
      }
      if (!leaderKv || leaderKv.create_revision !== leading || leaderKv.lease !== leaseId) {
        if (this.leading === leading) {
          this.leading = undefined;
          this.o.log(
            `signer group ${this.o.group}: ${this.o.member} is no longer active: the leader key is ${leaderKv ? `held by ${leaderKv.value.toString()}` : 'gone'}`,
          );
          this.notify();
        }
        this.counts.refusedCas++;
        throw new NotActiveError(`${this.o.member} lost the leadership of signer group ${this.o.group} (etcd refused the mark): not signing the ${what}`);
      }
      // Only the mark moved (by a write this member did not see answered): decide once more.
      if (attempt >= 1) {
        this.counts.refusedCas++;
        throw new GroupConflictError(`signer group ${this.o.group}: the group's record moved twice under ${this.o.member}: not signing the ${what}`);
      }
    }
  }

  /** A call bounded by callTimeoutMs (the etcd client's own deadline may not cover connecting or streams). */
  private bounded<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from etcd within ${this.o.callTimeoutMs} ms`)), this.o.callTimeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private etcdTrouble(e: unknown): void {
    if (this.closed || this.etcdFailing) return;
    this.etcdFailing = true;
    this.o.log(`signer group ${this.o.group}: ${this.o.member}'s etcd step failed (${errorText(e)})`);
  }

  private etcdOk(): void {
    if (!this.etcdFailing) return;
    this.etcdFailing = false;
    this.o.log(`signer group ${this.o.group}: ${this.o.member}'s etcd steps succeed again`);
  }

  private notify(): void {
    const active = this.active;
    if (active === this.wasActive) return;
    this.wasActive = active;
    for (const fn of this.listeners) fn(active);
  }
}

function readMark(kv: IKeyValue | undefined): CachedMark {
  if (!kv) return EMPTY_MARK;
  const { log, member } = decodeGroupMark(kv.value.toString());
  return { log, member, modRevision: kv.mod_revision };
}

function describeLast(log: SignLog): string {
  const last = log.entries[log.entries.length - 1];
  return `round ${last.round} ${last.step} ${toHex(last.blockHash).slice(0, 12) || 'nil'}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
