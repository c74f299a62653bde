import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDevnet, restartNode, startDevnet, stopDevnet, type DevnetInfo } from '../src/cli/devnet.ts';
import { addressFromPublicKey, encodeAddress, generateKeyPair } from '../src/crypto/index.ts';
import { ZNC_UNIT } from '../src/ledger/index.ts';
import { submitUntilFinal, TxRejectedError, ZeusClient, type SubmitAttempt } from '../src/sdk/index.ts';
import type { StatusAnswer, TxStatusAnswer } from '../src/sdk/wire.ts';
import { api, loadDevKeys, nextNonce, ROOT, signTransfer, sleep, waitFor, type NamedKey } from './helpers/processes.ts';

// An acknowledgement (202) is not a commitment: four bookkeeper processes on loopback, and a node
// SIGKILLed right after it acknowledged transfers (before its ~50 ms gossip batch went out). The
// node takes them back when it restarts (they were on its disk before it answered); a client that
// uses the SDK's submitUntilFinal gets them committed by another node even if it never restarts.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
delete process.env.ZEUS_PASSPHRASE;
const dir = mkdtempSync(join(tmpdir(), 'zeus-submit-final-'));
const ACCOUNTS = ['alice', 'bob', 'carol', 'dave', 'erin'];
let net: DevnetInfo;
let keys: Record<string, NamedKey>;

const node = (i: number) => readDevnet(dir).nodes[i];
const url = (i: number): string => node(i).api;
const killNode = (i: number): void => void process.kill(node(i).pid, 'SIGKILL');
const homeOf = async (address: string): Promise<number> => (await new ZeusClient(url(0)).account(address)).homeChain;
const balance = async (i: number, address: string): Promise<bigint> => BigInt((await new ZeusClient(url(i)).account(address)).balances.ZNC ?? '0');

async function transfer(from: NamedKey, to: NamedKey, amount: bigint, nonce?: bigint, at = 2) {
  const chain = await homeOf(from.address);
  return signTransfer(from, { chainId: net.chainId, to: to.address, amount, nonce: nonce ?? (await nextNonce(url(at), from.address, chain)) });
}

async function txStatus(i: number, hash: string): Promise<string> {
  const r = await api<TxStatusAnswer>(url(i), 'GET', `/txs/${hash}`);
  return r.status === 404 ? 'unknown' : String(r.json?.status);
}

beforeAll(async () => {
  net = await startDevnet({ dir, validators: 4, blockTimeMs: 300, accounts: ACCOUNTS });
  keys = loadDevKeys(net.nodes[0].home, ACCOUNTS);
}, 180_000);

afterAll(async () => {
  await stopDevnet(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('an acknowledged transaction whose node is killed right after the 202', () => {
  it('is not lost: the node had it on disk before answering, and admits and gossips it again when restarted', async () => {
    const chain = await homeOf(keys.alice.address);
    const first = await nextNonce(url(1), keys.alice.address, chain);
    const txs = await Promise.all([0n, 1n, 2n, 3n, 4n].map((k) => transfer(keys.alice, keys.bob, ZNC_UNIT + k, first + k)));
    const res = await fetch(`${url(0)}/txs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ txs: txs.map((t) => t.hex) }),
    });
    // Killed the moment the acknowledgement arrives, well inside the node's 50 ms gossip batch.
    killNode(0);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { results: { hash?: string; error?: unknown }[] };
    expect(body.results.map((r) => r.hash)).toEqual(txs.map((t) => t.hash));

    // The other three go on committing without node0 (3 of 4 is a quorum).
    const h = Number((await api<StatusAnswer>(url(1), 'GET', '/status')).json.height);
    await waitFor(async () => Number((await api<StatusAnswer>(url(1), 'GET', '/status')).json.height) >= h + 3, 30_000, 'three more heights without node0');
    const seen = await Promise.all(txs.map((t) => txStatus(1, t.hash)));
    // Without the record on disk these were gone for good here (the gossip batch died with node0).
    console.info(`before node0 restarts, node1 knows the acknowledged transfers as: ${seen.join(', ')}`);

    restartNode(dir, 'node0');
    for (const t of txs) await waitFor(async () => (await txStatus(1, t.hash)) === 'committed', 60_000, `transfer ${t.hash} committed`, 200);
    // The restarted node says what it found on disk; its log is written asynchronously, and on a busy
    // machine the gossip batch may have left before the kill, so the commits can come first.
    const readmitted = /transactions acknowledged before the last stop/;
    await waitFor(() => readmitted.test(readFileSync(node(0).log, 'utf8')), 60_000, 'node0 back with its acknowledged transactions').catch(() => undefined);
    expect(readFileSync(node(0).log, 'utf8')).toMatch(readmitted);
    await waitFor(async () => (await api<StatusAnswer>(url(0), 'GET', '/status').catch(() => undefined))?.status === 200, 60_000, 'node0 answering');
    // Applied once each: alice's nonce moved by exactly five.
    expect(await nextNonce(url(1), keys.alice.address, chain)).toBe(first + 5n);
  }, 180_000);
});

describe('submitUntilFinal', () => {
  it('gives the same bytes to another node when the one that acknowledged them dies, and resolves with the commit', async () => {
    const before = await balance(2, keys.carol.address);
    const t = await transfer(keys.bob, keys.carol, 3n * ZNC_UNIT);
    const attempts: SubmitAttempt[] = [];
    let killed = false;
    const final = await submitUntilFinal(t.bytes, {
      nodes: [url(1), url(2), url(3), url(0)],
      timeoutMs: 60_000,
      onAttempt: (a) => {
        attempts.push(a);
        // node1 acknowledges and dies before passing the transfer on.
        if (!killed && a.node === url(1) && a.outcome === 'accepted') {
          killed = true;
          killNode(1);
        }
      },
    });
    expect(killed).toBe(true);
    expect(final).toMatchObject({ status: 'committed', hash: t.hash });
    expect(final.height).toBeGreaterThan(0);
    expect(final.inclusion?.proof.leaf).toBeTruthy();
    expect(final.node).not.toBe(url(1));
    expect(attempts.some((a) => a.node === url(1) && a.outcome === 'unreachable')).toBe(true);
    // node2 was given the same bytes: it took them, held them already, or (when node1 passed them on
    // before it died, as happens on a loaded machine) had them committed and says the nonce is used.
    const given = attempts.filter((a) => a.node === url(2));
    expect(
      given.some((a) => a.outcome === 'accepted' || a.outcome === 'known' || (a.outcome === 'refused' && a.code === 'NONCE_REPLAYED')),
      JSON.stringify(attempts),
    ).toBe(true);
    // Once, not twice: carol got exactly 3 ZNC.
    await waitFor(async () => (await balance(2, keys.carol.address)) > before, 20_000, 'carol credited');
    await sleep(1_500);
    expect(await balance(2, keys.carol.address)).toBe(before + 3n * ZNC_UNIT);
    restartNode(dir, 'node1');
  }, 120_000);

  it('resolves a transaction already committed to its commit, and fails fast on a definite refusal instead of retrying', async () => {
    const nodes = [url(2), url(3), url(0)];
    const t = await transfer(keys.dave, keys.erin, 2n * ZNC_UNIT);
    const first = await submitUntilFinal(t.bytes, { nodes });
    // The same bytes again: every node refuses the used nonce, and this is that very transaction.
    const t0 = Date.now();
    const again = await submitUntilFinal(t.bytes, { nodes: [url(3), url(0)] });
    expect(again).toMatchObject({ status: 'committed', hash: t.hash, height: first.height, index: first.index });

    // Another transfer with the same nonce: it can never commit.
    const other = await transfer(keys.dave, keys.erin, 5n * ZNC_UNIT, t.nonce);
    const replayed = await submitUntilFinal(other.bytes, { nodes, timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(replayed).toBeInstanceOf(TxRejectedError);
    expect((replayed as TxRejectedError).code).toBe('NONCE_REPLAYED');

    // More than dave has: refused by the ledger, final.
    const tooMuch = await transfer(keys.dave, keys.erin, 10n ** 9n * ZNC_UNIT);
    const broke = await submitUntilFinal(tooMuch.bytes, { nodes, timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(broke).toBeInstanceOf(TxRejectedError);
    expect((broke as TxRejectedError).code).toBe('INSUFFICIENT_FUNDS');
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 120_000);

  it('`zeus transfer --wait` with several --node URLs commits through the next node when the first does not answer', async () => {
    const dead = 'http://127.0.0.1:1';
    const to = encodeAddress(addressFromPublicKey(generateKeyPair().publicKey));
    const r = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          'bin/zeus.js',
          '--home',
          net.nodes[0].home,
          '--node',
          `${dead},${url(2)}`,
          '--json',
          'transfer',
          '--from',
          'alice',
          '--to',
          to,
          '--amount',
          '1.25',
          '--wait',
        ],
        {
          cwd: ROOT,
          env: process.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += String(d)));
      child.stderr.on('data', (d: Buffer) => (err += String(d)));
      child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    });
    expect(r.code, r.err + r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'committed' });
    await waitFor(async () => (await balance(2, to)) === 125_000_000n, 20_000, 'the new account credited 1.25 ZNC');
  }, 120_000);
});
