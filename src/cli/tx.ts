import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { TX_KIND_NAMES, type TxKind, type TxRequest } from '../ledger/index.ts';
import { NodeApiError, TxRejectedError } from '../sdk/index.ts';
import { client, loadKey, output, type GlobalOptions } from './context.ts';

/** A transaction as the CLI reports it: pending (submitted) or committed. */
export interface SentTx {
  hash: string;
  chain: number;
  kind: string;
  from: string;
  status: 'pending' | 'committed';
  height?: number;
  index?: number;
}

/**
 * Signs, submits and with `wait` follows the transaction to its commit, printing nothing (but a
 * waiting line on a terminal). A refusal, at submission or at execution, throws a NodeApiError
 * carrying the ledger's code and reason.
 */
export async function submitTx<K extends TxKind>(
  g: GlobalOptions,
  key: KeyPair,
  kind: K,
  payload: TxRequest<K>['payload'],
  wait: boolean,
  describe: string,
): Promise<SentTx> {
  const c = client(g);
  const from = encodeAddress(addressFromPublicKey(key.publicKey));
  const sent = await c.send(key, kind, payload);
  if (!wait) return { hash: sent.hash, chain: sent.chain, kind: TX_KIND_NAMES[kind], from, status: 'pending' };
  const tty = process.stderr.isTTY && !g.json;
  const started = Date.now();
  // Final by the node's tx events, with polling as the fallback (the SDK's waitForFinality).
  const final = await c
    .waitForFinality(sent.hash, {
      timeoutMs: 60_000,
      onStatus: () => {
        if (tty) process.stderr.write(`\rwaiting for commit… ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
    })
    .catch((e: unknown) => {
      if (e instanceof TxRejectedError) throw new NodeApiError(422, e.code, `${describe} was rejected: ${e.message}`);
      throw e;
    })
    .finally(() => {
      if (tty) process.stderr.write('\r\x1b[K');
    });
  return { hash: final.hash, chain: final.chain, kind: TX_KIND_NAMES[kind], from, status: 'committed', height: final.height, index: final.index };
}

/** The human lines for a submitted or committed transaction. */
function txLines(describe: string, t: SentTx): string {
  return t.status === 'pending'
    ? `submitted ${describe}\n  hash  ${t.hash}\n  chain ${t.chain}\n  status pending (use --wait to wait for the commit)`
    : `committed ${describe}\n  hash   ${t.hash}\n  chain  ${t.chain}\n  height ${t.height}`;
}

/** What --json prints for a transaction (the same fields as before the market commands). */
function txJson(t: SentTx): Record<string, unknown> {
  return t.status === 'pending'
    ? { hash: t.hash, chain: t.chain, status: t.status, kind: t.kind, from: t.from }
    : { hash: t.hash, chain: t.chain, height: t.height, index: t.index, status: t.status };
}

/** Prints a transaction the usual way, with what a command adds: fields for --json, lines for people. */
export function printTx(g: GlobalOptions, describe: string, t: SentTx, more: { json?: Record<string, unknown>; lines?: string[] } = {}): void {
  output(g, { ...txJson(t), ...more.json }, () => [txLines(describe, t), ...(more.lines ?? [])].join('\n'));
}

/** Signs with a keystore key, submits, and with `wait` follows the transaction to its end. */
export async function sendTx<K extends TxKind>(
  g: GlobalOptions,
  from: string,
  kind: K,
  payload: TxRequest<K>['payload'],
  wait: boolean,
  describe: string,
): Promise<SentTx> {
  const t = await submitTx(g, await loadKey(g, from), kind, payload, wait, describe);
  printTx(g, describe, t);
  return t;
}
