import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { SigningGuard, type Signer, type SignStep } from '../../src/consensus/index.ts';
import { toHex } from '../../src/crypto/index.ts';
import { groupPrefix, SignerGroup, type SignerGroupOptions } from '../../src/node/signerGroup.ts';
import { MemoryKvStore } from '../../src/store/index.ts';
import type { EtcdCluster } from './etcd.ts';

// Members of a seat group for tests, each with its own local double-sign guard (kept across a
// member's "restart", as a node's guard is on disk), a clock a test can freeze (a deposed leader
// that has not noticed), and a record of every message the group authorized: who, what, when.

export const CHAIN = 'zeus-test';

export interface Authorized {
  member: string;
  height: number;
  round: number;
  step: SignStep;
  hash: string;
  at: number;
}

/** Every authorization that went through (etcd's mark and the local guard both said yes). */
export class SignatureBook {
  readonly all: Authorized[] = [];

  add(a: Authorized): void {
    this.all.push(a);
  }

  /** (height, round, step) slots for which two different hashes were authorized: must be none. */
  conflicts(): { slot: string; hashes: string[]; members: string[] }[] {
    const bySlot = new Map<string, Authorized[]>();
    for (const a of this.all) {
      const key = `${a.height}/${a.round}/${a.step}`;
      bySlot.set(key, [...(bySlot.get(key) ?? []), a]);
    }
    return [...bySlot.entries()]
      .filter(([, list]) => new Set(list.map((a) => a.hash)).size > 1)
      .map(([slot, list]) => ({ slot, hashes: [...new Set(list.map((a) => a.hash))], members: list.map((a) => a.member) }));
  }

  at(height: number, round: number, step: SignStep): Authorized[] {
    return this.all.filter((a) => a.height === height && a.round === round && a.step === step);
  }
}

export class TestMember {
  readonly name: string;
  group: SignerGroup | undefined;
  signer: Signer | undefined;
  readonly guard: SigningGuard;
  /** While set, the member's clock stands still at this value. */
  frozenAt: number | undefined;
  readonly logs: string[] = [];
  private readonly book: SignatureBook;

  private constructor(name: string, guard: SigningGuard, book: SignatureBook) {
    this.name = name;
    this.guard = guard;
    this.book = book;
  }

  static async create(name: string, book: SignatureBook): Promise<TestMember> {
    return new TestMember(name, await SigningGuard.open(new MemoryKvStore()), book);
  }

  /** Starts (or restarts, after a crash) the member's process part: a new SignerGroup on the same guard. */
  async join(o: Omit<SignerGroupOptions, 'member' | 'clock' | 'log' | 'chainId'>): Promise<SignerGroup> {
    this.frozenAt = undefined;
    const group = await SignerGroup.join({
      ...o,
      chainId: CHAIN,
      member: this.name,
      clock: () => this.frozenAt ?? performance.now(),
      log: (m) => this.logs.push(`${new Date().toISOString()} ${m}`),
    });
    this.group = group;
    this.signer = group.signer(this.guard);
    return group;
  }

  get active(): boolean {
    return this.group?.active ?? false;
  }

  /** Asks the group to sign; resolves true if authorized (and books it), false if refused with `why`. */
  async sign(height: number, round: number, step: SignStep, hash: Uint8Array): Promise<{ ok: boolean; why?: string; error?: string }> {
    if (!this.signer) return { ok: false, why: 'down' };
    try {
      await this.signer.authorize(height, round, step, hash);
      this.book.add({ member: this.name, height, round, step, hash: toHex(hash), at: performance.now() });
      return { ok: true };
    } catch (e) {
      return { ok: false, why: (e as Error).name, error: (e as Error).message };
    }
  }

  /** A crash: no resign, the lease is left to expire. */
  crash(): void {
    this.group?.abandon();
    this.group = undefined;
    this.signer = undefined;
  }

  async close(): Promise<void> {
    await this.group?.close();
    this.group = undefined;
    this.signer = undefined;
  }
}

export const hash32 = (): Uint8Array => new Uint8Array(randomBytes(32));

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs: number, everyMs = 5): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A client of the test's own, to look at the group's keys and to end leases as etcd would. */
export class EtcdAdmin {
  readonly client: Etcd3;
  readonly group: string;

  constructor(cluster: EtcdCluster, group: string) {
    this.client = new Etcd3({ hosts: cluster.endpoints, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2_000 }) });
    this.group = group;
  }

  async leader(): Promise<{ member: string; lease: string } | undefined> {
    const r = await this.client.get(`${groupPrefix(CHAIN, this.group)}leader`).exec();
    const kv = r.kvs[0];
    return kv ? { member: kv.value.toString(), lease: kv.lease } : undefined;
  }

  async signed(): Promise<Record<string, unknown> | undefined> {
    const v = await this.client.get(`${groupPrefix(CHAIN, this.group)}signed`).string();
    return v === null ? undefined : (JSON.parse(v) as Record<string, unknown>);
  }

  /** Ends the leader's lease now, as etcd does when it expires: its leader key goes with it. */
  async expireLeader(): Promise<string | undefined> {
    const l = await this.leader();
    if (!l) return undefined;
    await this.client.leaseClient.leaseRevoke({ ID: l.lease });
    return l.member;
  }

  close(): void {
    this.client.close();
  }
}
