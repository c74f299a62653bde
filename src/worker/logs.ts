import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  addressFromPublicKey,
  encodeAddress,
  fromHex,
  openSealed,
  sealKeyOfSigningKey,
  sealKeyPairOfSigningSeed,
  sealTo,
  toHex,
  type KeyPair,
} from '../crypto/index.ts';
import { createRegistryToken, RegistryTokenError, verifyRegistryToken, type Digest, type RegistryTokenClaims } from '../ddn/index.ts';
import { taskIdFor } from '../ledger/index.ts';
import { NodeApiError, type TaskAnswer, type ZeusClient } from '../sdk/index.ts';
import { AdminError } from './admin.ts';
import { readLogTail } from './leaseLog.ts';
import type { Workload } from './workload.ts';
import { artifactTag, digestOf, publishArtifact } from './results.ts';
import type { AgentSnapshot } from './status.ts';

// The logs of a lease outlive it: when the container ends, the worker seals its stdout and stderr
// to the task's poster and publishes them in its node's registry, under its own namespace, as an
// OCI artifact tagged by the lease:
//
//   <worker address>/logs:logs-<task id>-<lease>   config: the OCI empty blob, one layer: the envelope
//
// The tag is how the poster finds them without anything new on the chain (a tag is also what
// keeps the blob from the registry's garbage collector, which frees blobs no manifest names).
// Logs may hold whatever the workload printed — tokens, customer data — so the envelope is sealed
// (src/crypto/seal.ts) to the poster's Ed25519 key converted to X25519: only the holder of the
// poster's keystore key opens it, whoever serves the bytes. The poster's public key comes from the
// chain: the PostTask transaction that created the task carries its signer's key.

export const LOGS_ARTIFACT_TYPE = 'application/vnd.zeusnet.lease-logs.v1';
const LOGS_LAYER_TYPE = 'application/vnd.zeusnet.lease-logs.sealed.v1';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Larger logs keep their end: that is where a failure shows. */
export const MAX_PUBLISHED_LOG_BYTES = 8 * 1024 * 1024;
/** The envelope starts with the lease it belongs to, so a worker cannot pass off one lease's logs as another's. */
const HEADER = 'zeusnet-lease-logs/v1';

export const logsRepository = (worker: string): string => `${worker}/logs`;
export const logsTag = (task: string, lease: number): string => artifactTag('logs', task, lease);

/**
 * The X25519 key to seal a task's logs to: its poster's signing key, read from the PostTask
 * transaction at the task's posting height and checked to hash to the task's owner. Undefined when
 * no single key posted it (an owner that is not a key account).
 */
export async function posterSealKey(c: ZeusClient, t: Pick<TaskAnswer, 'id' | 'chain' | 'postedAt' | 'owner'>): Promise<Uint8Array | undefined> {
  const seg = await c.segment(t.postedAt, t.chain);
  for (const tx of seg.txs) {
    if (tx.kind !== 'PostTask' || toHex(taskIdFor(fromHex(tx.hash), t.chain)) !== t.id) continue;
    const pub = fromHex(tx.sender);
    // The node said so; the address is the hash of the key, so this check needs no trust in it.
    if (encodeAddress(addressFromPublicKey(pub)) !== t.owner) return undefined;
    return sealKeyOfSigningKey(pub);
  }
  return undefined;
}

/**
 * The sealed envelope of a lease's logs (the tail of them past MAX_PUBLISHED_LOG_BYTES); `cutBefore`:
 * bytes of the log before `log` that were already left out.
 */
export function sealLogs(recipient: Uint8Array, task: string, lease: number, log: Uint8Array, cutBefore = 0): Uint8Array {
  const body = log.length > MAX_PUBLISHED_LOG_BYTES ? log.subarray(log.length - MAX_PUBLISHED_LOG_BYTES) : log;
  const truncated = cutBefore + log.length - body.length;
  const head = new TextEncoder().encode(`${HEADER} ${task} ${lease}${truncated > 0 ? ` truncated ${truncated}` : ''}\n`);
  const plain = new Uint8Array(head.length + body.length);
  plain.set(head);
  plain.set(body, head.length);
  return sealTo([recipient], plain);
}

/** Opens an envelope with the poster's signing seed; throws unless it is for this key and this lease. */
export function openLogs(seed: Uint8Array, task: string, lease: number, sealed: Uint8Array): { log: Uint8Array; truncatedBytes: number } {
  const plain = openSealed(sealKeyPairOfSigningSeed(seed), sealed);
  const nl = plain.indexOf(0x0a);
  const head = new TextDecoder().decode(plain.subarray(0, nl < 0 ? 0 : nl)).split(' ');
  if (head[0] !== HEADER || head[1] !== task || head[2] !== String(lease)) throw new Error(`the envelope is not the logs of lease ${lease} of task ${task}`);
  return { log: plain.subarray(nl + 1), truncatedBytes: head[3] === 'truncated' ? Number(head[4]) : 0 };
}

export interface PublishedLogs {
  repository: string;
  tag: string;
  digest: Digest;
  bytes: number;
}

/** Pushes a sealed envelope with its manifest and tag to `node`'s registry. */
export async function publishSealedLogs(node: string, key: KeyPair, task: string, lease: number, sealed: Uint8Array): Promise<PublishedLogs> {
  const repository = logsRepository(encodeAddress(addressFromPublicKey(key.publicKey)));
  const tag = logsTag(task, lease);
  const digest = await publishArtifact(node, key, {
    repository,
    tag,
    artifactType: LOGS_ARTIFACT_TYPE,
    layerType: LOGS_LAYER_TYPE,
    bytes: sealed,
    annotations: { 'net.zeus.task': task, 'net.zeus.lease': String(lease) },
    what: 'sealed logs',
  });
  return { repository, tag, digest, bytes: sealed.length };
}

/** A registry that does not hold the lease's logs (yet). */
export class LogsNotFound extends Error {
  override name = 'LogsNotFound';
}

/** The sealed envelope of a lease's logs from one node's registry, checked against the manifest's digest. */
export async function fetchSealedLogs(node: string, worker: string, task: string, lease: number): Promise<{ sealed: Uint8Array; digest: Digest }> {
  const repository = logsRepository(worker);
  const m = await fetch(`${node}/v2/${repository}/manifests/${logsTag(task, lease)}`, { headers: { accept: OCI_MANIFEST } });
  if (m.status === 404) throw new LogsNotFound(`${node} holds no logs of lease ${lease} of task ${task}`);
  if (!m.ok) throw new Error(`${node} answered HTTP ${m.status} for the logs manifest: ${(await m.text()).slice(0, 200)}`);
  const doc = (await m.json()) as { artifactType?: string; layers?: { digest?: string }[] };
  const digest = doc.layers?.[0]?.digest;
  if (doc.artifactType !== LOGS_ARTIFACT_TYPE || typeof digest !== 'string')
    throw new Error(`${repository}:${logsTag(task, lease)} on ${node} is not a logs artifact`);
  const b = await fetch(`${node}/v2/${repository}/blobs/${digest}`);
  if (!b.ok) throw new Error(`${node} lists the logs blob ${digest} but does not serve it (HTTP ${b.status})`);
  const sealed = new Uint8Array(await b.arrayBuffer());
  if (digestOf(sealed) !== digest) throw new Error(`the logs blob served by ${node} does not hash to ${digest}: refusing it`);
  return { sealed, digest: digest as Digest };
}

export interface LeaseLogsContext {
  node: string;
  key: KeyPair;
  client: ZeusClient;
  task: TaskAnswer;
  lease: number;
  file: string;
  log: (line: string) => void;
}

/**
 * What the agent calls when a lease's container has ended and its logs are saved: seal them to
 * the poster and publish them. Never throws — the lease's result does not depend on its logs —
 * and says in the worker's log why logs stayed local.
 */
export async function publishLeaseLogs(x: LeaseLogsContext): Promise<PublishedLogs | undefined> {
  const k = `${x.task.id.slice(0, 12)}…/${x.lease}`;
  try {
    if (!existsSync(x.file)) return undefined;
    const recipient = await posterSealKey(x.client, x.task);
    if (!recipient) {
      x.log(`lease ${k}: logs kept locally only: the task's owner ${x.task.owner} has no single signing key to seal them to`);
      return undefined;
    }
    // Its end only, and read no further: the note of what was dropped is there.
    const tail = readLogTail(x.file, MAX_PUBLISHED_LOG_BYTES);
    if (!tail) return undefined;
    const p = await publishSealedLogs(x.node, x.key, x.task.id, x.lease, sealLogs(recipient, x.task.id, x.lease, tail.bytes, tail.cut));
    x.log(`lease ${k}: logs sealed to the poster and published as ${p.repository}:${p.tag} (${p.bytes} bytes)`);
    return p;
  } catch (e) {
    x.log(`lease ${k}: logs not published: ${(e as Error).message}`);
    return undefined;
  }
}

/** Where the agent keeps a lease's container log once the container ended. */
export const leaseLogFile = (home: string, task: string, lease: number): string => join(home, 'worker', 'leases', `${task}-${lease}`, 'container.log');

/** A lease's log as this worker has it: its last MAX_PUBLISHED_LOG_BYTES, and how many bytes before them were left out. */
export interface LocalLog {
  bytes: Uint8Array;
  cut: number;
}

/**
 * A lease's log as this worker has it, for its operator or poster: the lease's log file (written
 * as the workload prints, so also of a workload still running, with a line saying how much was
 * dropped so far), at most its last MAX_PUBLISHED_LOG_BYTES: a read never costs more memory than that.
 */
export function leaseLogTail(home: string, workload: Workload | undefined, task: string, lease: number): LocalLog | undefined {
  const tail = readLogTail(leaseLogFile(home, task, lease), MAX_PUBLISHED_LOG_BYTES);
  if (!tail) return undefined;
  const now = workload?.logCounts();
  // An ended log says it at its end already.
  if (!now || now.done || now.dropped === 0) return tail;
  const note = Buffer.from(`\n[zeus: ${now.dropped} bytes dropped so far past the cap; the workload is still running]\n`);
  return { bytes: Buffer.concat([tail.bytes, note]), cut: tail.cut };
}

/** The same for the operator's admin route: the bytes alone. */
export async function localLeaseLog(home: string, workload: Workload | undefined, task: string, lease: number): Promise<Uint8Array | undefined> {
  return leaseLogTail(home, workload, task, lease)?.bytes;
}

// Live logs: while a lease runs, its poster may ask the worker directly. The request carries a
// token in the registry token's format (an Ed25519 signature by the poster's key over claims with
// its public key and a short life) whose audience names this worker and this lease, so it cannot
// be replayed for another; the worker checks that the key's address owns the task on the chain,
// and answers with the same sealed envelope as the published logs — whoever relays the bytes sees
// ciphertext only.

export const liveLogsAudience = (worker: string, task: string, lease: number): string => `zeusnet-lease-logs:${worker}:${task}:${lease}`;
const LIVE_TOKEN_TTL_SECONDS = 60;

/** The poster's side: a token for one lease's live logs at one worker. */
export const liveLogsToken = (key: KeyPair, worker: string, task: string, lease: number): string =>
  createRegistryToken(key, { audience: liveLogsAudience(worker, task, lease), nowMs: Date.now(), ttlSeconds: LIVE_TOKEN_TTL_SECONDS });

/** What a token claims (audience, issue time in ms), read without checking anything; empty when it is not a token's shape. */
function claimsOf(token: string): { aud?: string; iatMs?: number } {
  const body = token.split('.')[1];
  if (body === undefined || token.length > 4096) return {};
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { aud?: unknown; iat?: unknown };
    return { aud: typeof c.aud === 'string' ? c.aud : undefined, iatMs: Number.isSafeInteger(c.iat) ? (c.iat as number) * 1000 : undefined };
  } catch {
    return {};
  }
}

/** What is wrong with a token made for `aud` when it is shown for lease `lease` of `task` at `worker`. */
function audienceMismatch(aud: string, worker: string, task: string, lease: number): string {
  const here = `lease ${lease} of task ${task}`;
  const [kind, w, t, n] = aud.split(':');
  if (kind !== 'zeusnet-lease-logs' || w === undefined || t === undefined || n === undefined) {
    if (kind === 'zeusnet-registry')
      return `the token is a registry login token (for pushing to a node's registry), not a live-logs token; sign one for ${here} with \`zeus task logs ${task} --lease ${lease} --live URL\``;
    return `the token is not a live-logs token (its audience is "${aud.slice(0, 120)}"); sign one for ${here} with \`zeus task logs ${task} --lease ${lease} --live URL\``;
  }
  if (w !== worker)
    return `the token is for the live logs at worker ${w}, and this is worker ${worker}: send it to the worker that runs the lease (the lease on the chain names it)`;
  if (t !== task) return `the token is for task ${t}, not for task ${task}: sign one for ${here}`;
  return `the token is for lease ${n} of task ${task}, not for lease ${lease}: sign one for lease ${lease} (\`zeus task logs ${task} --lease ${lease} --live URL\`)`;
}

/**
 * Checks a poster's live-logs token for lease `lease` of `task` at `worker`; returns its claims.
 * Each refusal says what is wrong in the live-logs' own terms: the registry token's words ("for
 * another node: log in again") would send the poster to the wrong place.
 */
export function checkLiveLogsToken(token: string, worker: string, task: string, lease: number, nowMs: number): RegistryTokenClaims {
  const { aud, iatMs } = claimsOf(token);
  const expected = liveLogsAudience(worker, task, lease);
  if (aud !== undefined && aud !== expected)
    throw new AdminError('POSTER_TOKEN_MISMATCH', `the live-logs token was refused: ${audienceMismatch(aud, worker, task, lease)}`, 401);
  try {
    // Checked at its own issue time first: a token that is bad apart from its age says so, not that it is old.
    const claims = verifyRegistryToken(token, { audience: expected, nowMs: iatMs ?? nowMs });
    if (claims.exp * 1000 <= nowMs) {
      throw new AdminError(
        'POSTER_TOKEN_EXPIRED',
        `the live-logs token expired at ${new Date(claims.exp * 1000).toISOString()} (they live ${LIVE_TOKEN_TTL_SECONDS} s): sign a new one (\`zeus task logs ${task} --live URL\` signs one for each request)`,
        401,
      );
    }
    return verifyRegistryToken(token, { audience: expected, nowMs });
  } catch (e) {
    if (e instanceof RegistryTokenError) {
      const why = /^not a ZeusNet registry token/.test(e.message)
        ? `it is not a signed token (zrt1.…); \`zeus task logs ${task} --live URL\` signs one`
        : e.message.replace(/^registry token/, 'the token');
      throw new AdminError('POSTER_TOKEN_INVALID', `the live-logs token was refused: ${why}`, 401);
    }
    throw e;
  }
}

/** The task's owner on the chain; a task the node does not know is the caller's mistake, not the worker's. */
async function taskOwner(c: ZeusClient, task: string): Promise<string> {
  try {
    return (await c.task(task)).owner;
  } catch (e) {
    if (e instanceof NodeApiError && e.status === 404)
      throw new AdminError('UNKNOWN_TASK', `there is no task ${task} on the chain (a task appears once its PostTask is committed)`, 404);
    if (e instanceof NodeApiError && e.status === 400) throw new AdminError(e.code, e.message, 400);
    throw e;
  }
}

/** The worker's side: the lease's logs so far, sealed to the poster whose token this is. */
export async function posterLeaseLog(
  x: { client: ZeusClient; home: string; snapshot: AgentSnapshot; workload: Workload | undefined },
  task: string,
  lease: number,
  token: string,
): Promise<Uint8Array> {
  const claims = checkLiveLogsToken(token, x.snapshot.address, task, lease, Date.now());
  const owner = await taskOwner(x.client, task);
  if (claims.sub !== owner) throw new AdminError('NOT_THE_POSTER', `only the task's poster ${owner} may read its logs, not ${claims.sub}`, 403);
  const log = leaseLogTail(x.home, x.workload, task, lease);
  if (!log)
    throw new AdminError(
      'UNKNOWN_LEASE',
      `this worker has no logs of lease ${lease} of task ${task}: it did not run that lease, or has not started it yet`,
      404,
    );
  return sealLogs(sealKeyOfSigningKey(fromHex(claims.pk)), task, lease, log.bytes, log.cut);
}
