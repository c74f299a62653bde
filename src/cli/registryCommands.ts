import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createRegistryToken, DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS, type GcReport } from '../ddn/index.ts';
import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { homePaths, loadOrCreateNodeKey, readConfig } from '../node/index.client.ts';
import { globalOptions, keystore, loadKey, nodeUrl, output, type GlobalOptions } from './context.ts';

// `zeus registry`: credentials for a node's OCI registry (the DDN). Pushing needs an account:
// `login` signs a short-lived token with the account's key and hands it to Docker as the
// password of the account's address; `token` prints one for other clients (skopeo --creds).

/** "3600", "90s", "30m", "12h" → seconds. */
function parseTtl(s: string): number {
  const m = /^(\d{1,6})([smh]?)$/.exec(s.trim());
  const seconds = m ? Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]] : NaN;
  if (!(seconds >= 1 && seconds <= MAX_TOKEN_TTL_SECONDS))
    throw new Error(`--ttl must be 1s to ${MAX_TOKEN_TTL_SECONDS / 3600}h (e.g. 3600, 30m, 12h), got "${s}"`);
  return seconds;
}

/** The key to sign with: --key, else the keystore's only key. */
function keyName(g: GlobalOptions, key: string | undefined): string {
  if (key) return key;
  const keys = keystore(g).list();
  if (keys.length === 1) return keys[0].name;
  throw new Error(`choose the account to push as with --key NAME (keys in ${keystore(g).dir}: ${keys.map((k) => k.name).join(', ') || 'none'})`);
}

interface OciErrorBody {
  errors?: { code?: string; message?: string }[];
}

async function registryFetch(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw new Error(`cannot reach the node at ${url}: ${(e as Error).message}`);
  }
}

async function failure(res: Response, what: string): Promise<Error> {
  const body = (await res.json().catch(() => ({}))) as OciErrorBody;
  const err = body.errors?.[0];
  return new Error(`${what}: HTTP ${res.status}${err ? ` ${err.code}: ${err.message}` : ''}`);
}

/** A token for the node at `node`, signed by key `name`, checked against the node. */
export async function signedToken(
  g: GlobalOptions,
  node: string,
  name: string,
  ttlSeconds: number,
): Promise<{ address: string; token: string; expiresAt: string }> {
  return tokenSignedBy(node, await loadKey(g, name), ttlSeconds);
}

/** A token for the node at `node`, signed by `key`, checked against the node. */
async function tokenSignedBy(node: string, key: KeyPair, ttlSeconds: number): Promise<{ address: string; token: string; expiresAt: string }> {
  const info = await registryFetch(`${node}/v2/_auth/info`);
  if (!info.ok) throw await failure(info, `${node} does not serve a ZeusNet registry`);
  const { audience } = (await info.json()) as { audience: string };
  const nowMs = Date.now();
  const token = createRegistryToken(key, { audience, nowMs, ttlSeconds });
  const address = encodeAddress(addressFromPublicKey(key.publicKey));
  const check = await registryFetch(`${node}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${address}:${token}`).toString('base64')}` } });
  if (!check.ok) throw await failure(check, 'the node refused the token');
  return { address, token, expiresAt: new Date(Math.floor(nowMs / 1000) * 1000 + ttlSeconds * 1000).toISOString() };
}

interface DockerConfig {
  auths?: Record<string, { auth?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * Gives Docker the credentials for `host`: into config.json's `auths` when Docker reads them
 * from there, else (a credential helper is configured, or asked for) through `docker login`.
 */
function dockerLogin(host: string, address: string, token: string, viaDocker: boolean): string {
  const dir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  const file = join(dir, 'config.json');
  const config = (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}) as DockerConfig;
  if (viaDocker || config.credsStore || config.credHelpers?.[host]) {
    const r = spawnSync('docker', ['--config', dir, 'login', '--username', address, '--password-stdin', host], { input: token, encoding: 'utf8' });
    if (r.error) throw new Error(`docker login failed: ${r.error.message} (is the docker CLI installed?)`);
    if (r.status !== 0) throw new Error(`docker login failed: ${r.stderr.trim() || r.stdout.trim()}`);
    return `ran docker login for ${host} (credentials kept by Docker's credential store)`;
  }
  config.auths = { ...config.auths, [host]: { auth: Buffer.from(`${address}:${token}`).toString('base64') } };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return `wrote credentials for ${host} to ${file}`;
}

/** The account and lifetime of a token to sign. */
function withTokenOptions(cmd: Command): Command {
  return cmd
    .option('--key <name>', 'account key in the keystore (default: the only key)')
    .option('--ttl <duration>', `token lifetime: seconds or 30m, 12h (at most ${MAX_TOKEN_TTL_SECONDS / 3600}h)`, `${DEFAULT_TOKEN_TTL_SECONDS}`);
}

export function register(program: Command): void {
  const registry = program
    .command('registry')
    .description("The node's OCI registry (DDN): log Docker in to push images as your account, print tokens, collect garbage");

  withTokenOptions(registry.command('login'))
    .description('Sign a short-lived registry token with an account key and log Docker in to the node (--node URL) with it')
    .option('--docker-login', 'run `docker login --password-stdin` instead of writing the Docker config file')
    .action(async (o: { key?: string; ttl: string; dockerLogin?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const node = nodeUrl(g);
      const name = keyName(g, o.key);
      const t = await signedToken(g, node, name, parseTtl(o.ttl));
      const host = new URL(node).host;
      const how = dockerLogin(host, t.address, t.token, o.dockerLogin ?? false);
      output(g, { registry: host, key: name, address: t.address, expiresAt: t.expiresAt, docker: how }, () =>
        [
          `Logged in to registry ${host} as ${name} (${t.address}) until ${t.expiresAt}`,
          `  ${how}`,
          `  push with: docker push ${host}/${t.address}/NAME:TAG (your address is your namespace on every node; an app's name is its owner's once published)`,
        ].join('\n'),
      );
    });

  withTokenOptions(registry.command('token'))
    .description('Print a registry token for the node (--node URL), e.g. for skopeo --creds ADDRESS:TOKEN')
    .option('--creds', 'print ADDRESS:TOKEN, the form skopeo --creds and curl -u take')
    .action(async (o: { key?: string; ttl: string; creds?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const t = await signedToken(g, nodeUrl(g), keyName(g, o.key), parseTtl(o.ttl));
      output(g, t, () => (o.creds ? `${t.address}:${t.token}` : t.token));
    });

  registry
    .command('gc')
    .description("Collect garbage in the node's blob store now (the node also does it hourly); signs with the home's node key")
    .option('--grace <seconds>', 'keep unreferenced blobs younger than this (a push in progress uploads blobs before its manifest)', '3600')
    .action(async (o: { grace: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (!/^\d{1,9}$/.test(o.grace)) throw new Error(`--grace must be a whole number of seconds, got "${o.grace}"`);
      const node = nodeUrl(g);
      const config = readConfig(g.home);
      const keyName = config.bookkeeperKey;
      // The registry takes gc only from the node's own key; a full node's is not in the keystore.
      if (keyName === undefined) throw new Error(`${g.home} is a full node (no bookkeeper key): its registry collects garbage hourly on its own`);
      // A seat group's member goes by its own node key (the seat's key is its group's, not its registry's).
      if (config.signerGroup && !existsSync(homePaths(g.home).nodeKey))
        throw new Error(`${g.home} is a member of signer group ${config.signerGroup.group} and has no node key yet: start its node first`);
      const t = config.signerGroup ? await tokenSignedBy(node, loadOrCreateNodeKey(g.home), 300) : await signedToken(g, node, keyName, 300);
      const res = await registryFetch(`${node}/v2/_zeus/gc?graceSeconds=${o.grace}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${t.address}:${t.token}`).toString('base64')}` },
      });
      if (!res.ok) throw await failure(res, 'garbage collection failed');
      const r = (await res.json()) as GcReport;
      output(
        g,
        r,
        () =>
          `Removed ${r.blobsRemoved} blobs (${r.bytesFreed} bytes), ${r.uploadsRemoved} abandoned uploads, ${r.linksRemoved} dead links, ${r.tempFilesRemoved} temporary files; kept ${r.blobsKept} blobs`,
      );
    });
}
