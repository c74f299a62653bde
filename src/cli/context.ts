import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { decodeAddress, isAddress, Keystore, readPassphrase, WrongPassphraseError, type KeyPair } from '../crypto/index.ts';
import { ZNC, ZNC_DECIMALS } from '../ledger/index.ts';
import { homePaths, keyPassphrases, loadKeyWithAny, readConfig, DEFAULT_API_PORT } from '../node/index.client.ts';
import { NodeApiError, ZeusClient } from '../sdk/index.ts';
import { existsSync } from 'node:fs';

/** Options every command understands. */
export interface GlobalOptions {
  home: string;
  node?: string;
  json?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { home?: string; node?: string; json?: boolean };
  return { home: o.home ?? process.env.ZEUS_HOME ?? join(homedir(), '.zeus'), node: o.node ?? process.env.ZEUS_NODE, json: o.json };
}

/** The node URL: --node (its first URL), else the API address in the home's config, else the default port. */
export function nodeUrl(g: GlobalOptions): string {
  return nodeUrls(g)[0];
}

/**
 * Every node a transaction may be given to, in order: the URLs of --node (comma-separated), else
 * the home's own node and the other nodes its config names (a devnet home names its peers).
 * `--wait` resubmits to the next when one stops answering or loses the transaction.
 */
export function nodeUrls(g: GlobalOptions): string[] {
  if (g.node) {
    const urls = g.node
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    for (const u of urls)
      if (!/^https?:\/\/[^/]/.test(u))
        throw new Error(`--node takes http(s) URLs, comma-separated (e.g. http://127.0.0.1:26657,http://127.0.0.1:26658), got "${u}"`);
    if (urls.length) return urls;
  }
  if (existsSync(homePaths(g.home).config)) {
    const c = readConfig(g.home);
    return [`http://${c.api.host}:${c.api.port}`, ...(c.ddn?.peers ?? [])];
  }
  return [`http://127.0.0.1:${DEFAULT_API_PORT}`];
}

export function client(g: GlobalOptions): ZeusClient {
  return new ZeusClient(nodeUrl(g));
}

export function keystore(g: GlobalOptions): Keystore {
  return new Keystore(homePaths(g.home).keys);
}

/** The passphrase for a new key (ZEUS_PASSPHRASE, else a dev home's, else asked) or a bookkeeper key the node tries after the dev home's. */
export async function passphraseFor(g: GlobalOptions, prompt: string, confirm = false): Promise<string> {
  if (process.env.ZEUS_PASSPHRASE !== undefined) return process.env.ZEUS_PASSPHRASE;
  if (existsSync(homePaths(g.home).config)) {
    const dev = readConfig(g.home).devPassphrase;
    if (dev !== undefined) return dev;
  }
  return readPassphrase(prompt, { confirm });
}

/**
 * Opens a key of the home. A dev home's keys open with its dev passphrase even when
 * ZEUS_PASSPHRASE is exported for other keys; a key someone put there under their own passphrase
 * opens with ZEUS_PASSPHRASE or the prompt. Other homes: ZEUS_PASSPHRASE or the prompt, nothing else.
 */
export async function loadKey(g: GlobalOptions, name: string): Promise<KeyPair> {
  const ks = keystore(g);
  if (!ks.has(name)) throw new Error(`no key named "${name}" in ${ks.dir} (see \`zeus keys list\`)`);
  const config = existsSync(homePaths(g.home).config) ? readConfig(g.home) : undefined;
  const env = process.env.ZEUS_PASSPHRASE;
  if (config?.devPassphrase !== undefined && env === undefined) {
    try {
      return loadKeyWithAny(ks, name, [config.devPassphrase]);
    } catch (e) {
      if (!(e instanceof WrongPassphraseError) || !process.stdin.isTTY) throw e;
    }
  }
  const given = env ?? (await readPassphrase(`Passphrase for key "${name}": `));
  return loadKeyWithAny(ks, name, keyPassphrases(config, given));
}

/** Accepts a znc1… address or the name of a key in the keystore. */
export function resolveAddress(g: GlobalOptions, nameOrAddress: string): string {
  if (isAddress(nameOrAddress)) return nameOrAddress;
  const ks = keystore(g);
  if (ks.has(nameOrAddress)) return ks.show(nameOrAddress).address;
  if (nameOrAddress.startsWith('znc1')) decodeAddress(nameOrAddress); // throws the precise reason
  throw new Error(`"${nameOrAddress}" is neither a znc1… address nor a key name in ${ks.dir}`);
}

/** Decimals of ZNC or of a sub-token (asked of the node). */
export async function decimalsOf(g: GlobalOptions, token: string): Promise<number> {
  if (token === ZNC) return ZNC_DECIMALS;
  const { tokens } = await client(g).tokens();
  const t = tokens.find((x) => x.symbol === token);
  if (!t) throw new Error(`unknown token "${token}" (see \`zeus token list\`)`);
  return Number(t.decimals);
}

export function output(g: GlobalOptions, value: unknown, human: () => string): void {
  if (g.json) process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Prints an error the way scripts and people both can use, and sets the exit code. */
/**
 * The exit code of `zeus node start` on a damaged chain store, found when it starts or while it
 * runs: a supervisor can tell it from other failures (the remedy is to move HOME/data away).
 */
export const EXIT_STORE_DAMAGED = 4;

export function reportError(e: unknown, json: boolean): void {
  const code = e instanceof NodeApiError ? e.code : ((e as { code?: string }).code ?? 'ERROR');
  const message = e instanceof Error ? e.message : String(e);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`error${e instanceof NodeApiError ? ` [${code}]` : ''}: ${message}\n`);
  process.exitCode = e instanceof NodeApiError && e.status === 0 ? 3 : (e as Error).name === 'StoreCorruptError' ? EXIT_STORE_DAMAGED : 1;
}
