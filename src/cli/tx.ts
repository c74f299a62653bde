import { addressFromPublicKey, encodeAddress, type KeyPair } from '../crypto/index.ts';
import { TX_KIND_NAMES, type TxKind, type TxRequest } from '../ledger/index.ts';
import { NodeApiError, submitUntilFinal, TxRejectedError, ZeusClient, type SignedTx } from '../sdk/index.ts';
import { client, loadKey, nodeUrls, output, type GlobalOptions } from './context.ts';

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
 *
 * With `wait`, an acknowledgement is not taken for a commitment: the same signed bytes go to the
 * next node (--node URL,URL…, or the home's peers) when the one holding them stops answering or
 * loses them, until they are committed or definitely refused (the SDK's submitUntilFinal).
 */
export async function submitTx<K extends TxKind>(
  g: GlobalOptions,
  key: KeyPair,
  kind: K,
  payload: TxRequest<K>['payload'],
  wait: boolean,
  describe: string,
): Promise<SentTx> {
  const from = encodeAddress(addressFromPublicKey(key.publicKey));
  if (!wait) {
    const sent = await client(g).send(key, kind, payload);
    return { hash: sent.hash, chain: sent.chain, kind: TX_KIND_NAMES[kind], from, status: 'pending' };
  }
  const nodes = nodeUrls(g).map((u) => new ZeusClient(u));
  const signed = await signWithAny(nodes, key, kind, payload);
  const tty = process.stderr.isTTY && !g.json;
  const started = Date.now();
  const final = await submitUntilFinal(signed, {
    nodes,
    timeoutMs: 60_000,
    onAttempt: (a) => {
      if (tty) process.stderr.write(`\r\x1b[Kwaiting for commit… ${((Date.now() - started) / 1000).toFixed(1)} s (${a.node}: ${a.outcome})`);
    },
  })
    .catch((e: unknown) => {
      // Refused on arrival: the node's answer as it gave it; refused later: say what was.
      if (e instanceof TxRejectedError)
        throw e.atSubmission ? new NodeApiError(e.status, e.code, e.message) : new NodeApiError(422, e.code, `${describe} was rejected: ${e.message}`);
      throw e;
    })
    .finally(() => {
      if (tty) process.stderr.write('\r\x1b[K');
    });
  return { hash: final.hash, chain: final.chain, kind: TX_KIND_NAMES[kind], from, status: 'committed', height: final.height, index: final.index };
}

/** Signs with the chain id and next nonce of the first node that answers. */
async function signWithAny<K extends TxKind>(nodes: ZeusClient[], key: KeyPair, kind: K, payload: TxRequest<K>['payload']): Promise<SignedTx> {
  let unreachable: unknown;
  for (const c of nodes) {
    try {
      return await c.sign(key, { kind, payload });
    } catch (e) {
      if (!(e instanceof NodeApiError && e.code === 'NODE_UNREACHABLE')) throw e;
      unreachable ??= e;
    }
  }
  throw unreachable;
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
