import { addressFromPublicKey, encodeAddress } from '../crypto/index.ts';
import { TX_KIND_NAMES, type TxKind, type TxRequest } from '../ledger/index.ts';
import { NodeApiError, type TxStatusAnswer } from '../sdk/index.ts';
import { client, loadKey, output, type GlobalOptions } from './context.ts';

/** Signs with a keystore key, submits, and with `wait` follows the transaction to its end. */
export async function sendTx<K extends TxKind>(
  g: GlobalOptions,
  from: string,
  kind: K,
  payload: TxRequest<K>['payload'],
  wait: boolean,
  describe: string,
): Promise<TxStatusAnswer | undefined> {
  const key = await loadKey(g, from);
  const c = client(g);
  const sent = await c.send(key, kind, payload);
  if (!wait) {
    output(g, { ...sent, kind: TX_KIND_NAMES[kind], from: encodeAddress(addressFromPublicKey(key.publicKey)) }, () =>
      `submitted ${describe}\n  hash  ${sent.hash}\n  chain ${sent.chain}\n  status pending (use --wait to wait for the commit)`,
    );
    return undefined;
  }
  const tty = process.stderr.isTTY && !g.json;
  const started = Date.now();
  const final = await c.waitForTx(sent.hash, 60_000, () => {
    if (tty) process.stderr.write(`\rwaiting for commit… ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  if (tty) process.stderr.write('\r\x1b[K');
  if (final.status === 'rejected') {
    throw new NodeApiError(422, final.error?.code ?? 'REJECTED', `${describe} was rejected: ${final.error?.message ?? 'unknown reason'}`);
  }
  output(g, { hash: final.hash, chain: final.chain, height: final.height, index: final.index, status: final.status }, () =>
    `committed ${describe}\n  hash   ${final.hash}\n  chain  ${final.chain}\n  height ${final.height}`,
  );
  return final;
}
