import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore, WrongPassphraseError } from '../src/crypto/index.ts';
import type { Genesis } from '../src/ledger/index.ts';
import { DEV_PASSPHRASE, type NodeConfig } from '../src/node/index.ts';
import type { ReadyAnswer } from '../src/sdk/wire.ts';
import { mustZeus, oneBookkeeperGenesisInProcess, zeusWith, zeusWithAsync, type OneBookkeeperGenesis } from './helpers/genesis.ts';
import type { CliResult } from './helpers/processes.ts';
import { api, cleanup, freePort, startNode, waitFor, ZeusProcess } from './helpers/processes.ts';

// `zeus init --genesis FILE|URL`: a home that joins a network, and everything that must be refused
// on the way (issue 15, "Bad input"): a malformed or foreign genesis, a genesis edited after its
// hash was compared, an unreachable URL or one that is not a ZeusNet node, a wrong passphrase at
// init and at node start. Each is a clear error naming the problem, and the home is left as it
// was (no config.json, no genesis.json, no key, no staging directory).

const PASS = 'correct horse battery staple';
// The genesis and the operator's key are made in process (test/deploy-service.test.ts makes them
// with `zeus genesis`); the key with the fast KDF, as the CLI runs here.
process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-join-'));
const opHome = join(dir, 'op');
let g: OneBookkeeperGenesis;
let p2pPort: number;
let apiPort: number;
let files: Server;
let filesUrl: string;

/** Every file under `d` (relative paths), for "nothing was written" checks. */
function tree(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(d.length + 1))
    .sort();
}

function refused(home: string, passphrase: string | undefined, args: string[], message: RegExp): string {
  const before = tree(home);
  return checkRefusal(home, before, zeusWith(passphrase, home, 'init', ...args), message);
}

/** `refused` for URLs this test process serves (a blocking run would keep its server from answering). */
async function refusedAsync(home: string, passphrase: string | undefined, args: string[], message: RegExp): Promise<string> {
  const before = tree(home);
  return checkRefusal(home, before, await zeusWithAsync(passphrase, home, 'init', ...args), message);
}

function checkRefusal(home: string, before: string[], r: CliResult, message: RegExp): string {
  expect(r.code, r.out).not.toBe(0);
  expect(r.err).toMatch(message);
  expect(tree(home), 'the home is as it was').toEqual(before);
  if (before.length === 0) expect(existsSync(home), 'a home the init made is removed again').toBe(false);
  return r.err;
}

beforeAll(async () => {
  p2pPort = await freePort();
  apiPort = await freePort();
  g = oneBookkeeperGenesisInProcess({
    home: opHome,
    passphrase: PASS,
    file: join(dir, 'genesis.json'),
    chainId: 'zeus-join-1',
    p2p: `/ip4/127.0.0.1/tcp/${p2pPort}`,
  });
  // A plain HTTP server that is not a ZeusNet node: it serves files, and 404 for anything else.
  files = createServer((req, res) => {
    if (req.url === '/files/genesis.json') res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(g.file));
    else if (req.url === '/files/page.html') res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  const a = files.address();
  filesUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}, 120_000);

afterAll(async () => {
  await cleanup();
  await new Promise((r) => files?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('zeus init --genesis', () => {
  it('prepares the operator home: the genesis and its hash, config.json with the network options, the key under the passphrase given and no dev passphrase anywhere', () => {
    const before = tree(opHome);
    expect(before).toEqual(['keys/op.json']);
    const out = mustZeus(
      PASS,
      opHome,
      '--json',
      'init',
      '--genesis',
      g.file,
      '--expect-hash',
      g.hash,
      '--moniker',
      'op-one',
      '--bookkeeper-key',
      'op',
      '--p2p-listen',
      `/ip4/127.0.0.1/tcp/${p2pPort}`,
      '--p2p-announce',
      `/ip4/203.0.113.7/tcp/${p2pPort},/dns4/op.example.net/tcp/${p2pPort}`,
      '--bootstrap',
      '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN',
      '--api',
      `127.0.0.1:${apiPort}`,
    );
    const r = JSON.parse(out) as { genesisHash: string; chainId: string; bookkeeperKey: { name: string; created: boolean; genesisBookkeeper: boolean } };
    expect(r.genesisHash).toBe(g.hash);
    expect(r.chainId).toBe('zeus-join-1');
    expect(r.bookkeeperKey).toMatchObject({ name: 'op', created: false, genesisBookkeeper: true, address: g.address });
    expect(tree(opHome)).toEqual(['config.json', 'genesis.json', 'keys/op.json']);
    const config = JSON.parse(readFileSync(join(opHome, 'config.json'), 'utf8')) as NodeConfig;
    expect(config).toMatchObject({
      chainId: 'zeus-join-1',
      moniker: 'op-one',
      bookkeeperKey: 'op',
      api: { host: '127.0.0.1', port: apiPort },
      p2p: {
        listen: `/ip4/127.0.0.1/tcp/${p2pPort}`,
        announce: [`/ip4/203.0.113.7/tcp/${p2pPort}`, `/dns4/op.example.net/tcp/${p2pPort}`],
        bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'],
      },
    });
    expect(config.devPassphrase).toBeUndefined();
    for (const f of tree(opHome)) expect(readFileSync(join(opHome, f), 'utf8'), f).not.toContain(DEV_PASSPHRASE);
    const ks = new Keystore(join(opHome, 'keys'));
    expect(() => ks.load('op', DEV_PASSPHRASE)).toThrow(WrongPassphraseError);
    expect(ks.show('op').address).toBe(g.address);
    expect(mustZeus(undefined, opHome, 'genesis', 'hash', join(opHome, 'genesis.json')).trim()).toBe(g.hash);
    // Readable by its owner only: it names the key.
    expect(statSync(join(opHome, 'config.json')).mode & 0o077).toBe(0);
  });

  it('refuses a home that is already initialized and leaves it as it was', () => {
    refused(opHome, PASS, ['--genesis', g.file, '--moniker', 'again'], /is already a node home/);
  });

  it('makes a new bookkeeper key under the passphrase given, or none at all for a full node', () => {
    const home = join(dir, 'candidate');
    const r = JSON.parse(mustZeus(PASS, home, '--json', 'init', '--genesis', g.file, '--moniker', 'cand', '--bookkeeper-key', 'bk')) as {
      bookkeeperKey: { created: boolean; genesisBookkeeper: boolean };
      p2p: { listen: string };
    };
    expect(r.bookkeeperKey).toMatchObject({ created: true, genesisBookkeeper: false });
    expect(r.p2p.listen).toBe('/ip4/0.0.0.0/tcp/26656');
    expect(new Keystore(join(home, 'keys')).load('bk', PASS).publicKey).toHaveLength(32);
    expect(tree(home)).toEqual(['config.json', 'genesis.json', 'keys/bk.json']);

    const full = join(dir, 'full');
    const human = mustZeus(undefined, full, 'init', '--genesis', g.file, '--moniker', 'full-1');
    expect(human).toContain(`genesis hash ${g.hash}`);
    expect(human).toMatch(/no bookkeeper key: a full node/);
    expect(tree(full)).toEqual(['config.json', 'genesis.json']);
    expect((JSON.parse(readFileSync(join(full, 'config.json'), 'utf8')) as NodeConfig).bookkeeperKey).toBeUndefined();
  });

  // What a genesis may get wrong, option by option, is checked in process (src/node/join.test.ts);
  // here, that the CLI reports it and leaves nothing behind.
  it('refuses a malformed genesis: not JSON, absent, or missing what a genesis needs', () => {
    const home = join(dir, 'malformed');
    writeFileSync(join(dir, 'truncated.json'), readFileSync(g.file, 'utf8').slice(0, 200));
    refused(home, PASS, ['--genesis', join(dir, 'truncated.json'), '--moniker', 'm'], /truncated\.json is not JSON/);
    const partial = JSON.parse(readFileSync(g.file, 'utf8')) as Partial<Genesis>;
    delete partial.allocations;
    writeFileSync(join(dir, 'partial.json'), JSON.stringify(partial));
    refused(home, PASS, ['--genesis', join(dir, 'partial.json'), '--moniker', 'm'], /partial\.json is not a valid genesis \(1 problem\):\n {2}- allocations: /);
  });

  it('refuses a foreign genesis or one edited after its hash was compared, and names both hashes', () => {
    const home = join(dir, 'foreign');
    const edited = JSON.parse(readFileSync(g.file, 'utf8')) as Genesis;
    edited.genesisTime += 1; // still a valid genesis, but not the one the operators compared
    writeFileSync(join(dir, 'edited.json'), JSON.stringify(edited));
    const err = refused(home, PASS, ['--genesis', join(dir, 'edited.json'), '--expect-hash', g.hash, '--moniker', 'f'], /not the expected/);
    expect(err).toContain(`not the expected ${g.hash}`);
    expect(err).toMatch(/has hash [0-9a-f]{64}/);
    refused(
      home,
      PASS,
      ['--genesis', g.file, '--chain-id', 'zeus-other-7', '--moniker', 'f'],
      /is for chain "zeus-join-1", not --chain-id "zeus-other-7": a foreign genesis/,
    );
  });

  it('refuses options that do not go together before reading anything', () => {
    const home = join(dir, 'options');
    refused(home, PASS, ['--genesis', g.file], /--moniker NAME is needed/);
    refused(home, PASS, ['--dev', '--moniker', 'x', '--bootstrap', '/ip4/10.0.0.1/tcp/1'], /--moniker, --bootstrap go with --genesis, not --dev/);
  });

  it('refuses a wrong passphrase for a key already in the home, leaving the key and nothing else', () => {
    const home = join(dir, 'wrongpass');
    mustZeus(PASS, home, 'keys', 'new', 'mine');
    refused(home, 'not the passphrase', ['--genesis', g.file, '--moniker', 'w', '--bookkeeper-key', 'mine'], /wrong passphrase for key "mine"/);
    expect(readdirSync(home)).toEqual(['keys']); // no staging directory left behind
  });

  it('refuses an unreachable URL and a URL that is not a ZeusNet node', async () => {
    const home = join(dir, 'url-bad');
    // Nothing listens there: refused at once (or, should another process on this machine take the
    // port meanwhile and not answer, the fetch's own timeout).
    const closed = await freePort();
    await refusedAsync(
      home,
      PASS,
      ['--genesis', `http://127.0.0.1:${closed}`, '--moniker', 'u'],
      new RegExp(`could not fetch the genesis from http://127\\.0\\.0\\.1:${closed}/genesis: (ECONNREFUSED|no answer within 15 s)`),
    );
    await refusedAsync(home, PASS, ['--genesis', filesUrl, '--moniker', 'u'], /HTTP 404 \(is it a ZeusNet node, or the URL of a genesis file\?\)/);
    await refusedAsync(home, PASS, ['--genesis', `${filesUrl}/files/page.html`, '--moniker', 'u'], /page\.html is not JSON/);
  });

  it('joins from a genesis URL and from a running node (GET /genesis), which starts under ZEUS_PASSPHRASE (a wrong one refused by naming the key); a full node follows it and is ready only with a peer', async () => {
    // A wrong passphrase: a clear error naming the key, a non-zero exit, no chain store made.
    const wrong = new ZeusProcess(opHome, { env: { ZEUS_PASSPHRASE: 'wrong' } });
    const exit = await wrong.exited;
    expect(exit.code).not.toBe(0);
    // --json (as the test helper starts nodes): the error is a JSON line on stdout.
    const failure = JSON.parse(wrong.stdout.trim().split('\n').at(-1)!) as { error: { message: string } };
    expect(failure.error.message).toMatch(
      /wrong passphrase for key "op" \(the bookkeeper key of .*\): ZEUS_PASSPHRASE .* is not the one the key was made with/,
    );
    expect(existsSync(join(opHome, 'data'))).toBe(false);

    const { node: op, url } = await startNode(opHome, { env: { ZEUS_PASSPHRASE: PASS } });
    const served = await fetch(`${url}/genesis`);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-zeus-genesis-hash')).toBe(g.hash);
    expect(((await served.json()) as Genesis).chainId).toBe(g.chainId);
    const doc = await api<{ paths: Record<string, unknown> }>(url, 'GET', '/openapi.json');
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/genesis', '/health', '/health/live', '/health/ready']));
    const fromFiles = await zeusWithAsync(undefined, join(dir, 'via-file'), '--json', 'init', '--genesis', `${filesUrl}/files/genesis.json`, '--moniker', 'a');
    expect(fromFiles.code, fromFiles.err).toBe(0);
    const viaFile = JSON.parse(fromFiles.out) as { genesisHash: string };
    expect(viaFile.genesisHash).toBe(g.hash);
    // A full node (no bookkeeper key) joining from the node's URL, with the node as its bootstrap peer.
    const peerId = (await api<{ consensus: { peerId: string } }>(url, 'GET', '/status')).json.consensus.peerId;
    const viaNode = join(dir, 'via-node');
    const r = JSON.parse(
      mustZeus(
        undefined,
        viaNode,
        '--json',
        'init',
        '--genesis',
        url,
        '--expect-hash',
        g.hash,
        '--moniker',
        'b',
        '--p2p-listen',
        `/ip4/127.0.0.1/tcp/${await freePort()}`,
        '--bootstrap',
        `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}`,
        '--api',
        `127.0.0.1:${await freePort()}`,
      ),
    ) as { genesisHash: string };
    expect(r.genesisHash).toBe(g.hash);
    expect(readFileSync(join(viaNode, 'genesis.json'), 'utf8')).toBe(readFileSync(join(opHome, 'genesis.json'), 'utf8'));
    // The only bookkeeper commits alone: ready without peers.
    const ready = await api<ReadyAnswer>(url, 'GET', '/health/ready');
    expect(ready.status, ready.text).toBe(200);
    expect(ready.json).toMatchObject({ ready: true, peers: 0 });

    // The full node follows it: ready once it has a peer and is within 5 blocks of it…
    const full = await startNode(viaNode);
    await waitFor(
      async () => {
        const fr = await api<ReadyAnswer>(full.url, 'GET', '/health/ready');
        return fr.status === 200 && fr.json.peers >= 1 && fr.json.height >= 2;
      },
      30_000,
      'the full node to be ready',
      200,
    );
    // …and not ready once its only peer is gone: it cannot know whether it is in sync.
    await op.kill();
    await waitFor(async () => (await api(full.url, 'GET', '/health/ready')).status === 503, 20_000, '/health/ready 503 without peers', 200);
    const alone = await api<ReadyAnswer>(full.url, 'GET', '/health/ready');
    expect(alone.json).toMatchObject({ ready: false, peers: 0 });
    expect(alone.json.reason).toMatch(/no connected peer/);
    expect((await api(full.url, 'GET', '/health/live')).status).toBe(200);
  }, 120_000);
});
