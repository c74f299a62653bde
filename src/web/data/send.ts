import { useCallback, useState } from 'react';
import { client } from './node.ts';
import { type TxKind, type TxStatusAnswer } from './sdk.ts';
import { keyPairOf, type WalletKey } from './wallet.ts';

// Signing and sending from the wallet: the SDK signs with the key held in this browser, picks
// the nonce of the chain the transaction routes to, submits the bytes and waits for the commit.

export type SendState =
  | { phase: 'idle' }
  | { phase: 'sending'; what: string }
  | { phase: 'pending'; what: string; hash: string; chain: number }
  | { phase: 'committed'; what: string; hash: string; chain: number; height: number }
  | { phase: 'failed'; what: string; message: string; hash?: string };

type Payload<K extends TxKind> = Parameters<typeof client.send<K>>[2];

export function useSend(): {
  state: SendState;
  send: <K extends TxKind>(key: WalletKey | undefined, kind: K, payload: Payload<K>, what: string) => Promise<TxStatusAnswer | undefined>;
  reset: () => void;
} {
  const [state, setState] = useState<SendState>({ phase: 'idle' });
  const send = useCallback(async <K extends TxKind>(key: WalletKey | undefined, kind: K, payload: Payload<K>, what: string) => {
    if (!key) {
      setState({ phase: 'failed', what, message: 'no key in the wallet: create or import one on the Wallet page first' });
      return undefined;
    }
    setState({ phase: 'sending', what });
    try {
      const sub = await client.send(keyPairOf(key), kind, payload);
      setState({ phase: 'pending', what, hash: sub.hash, chain: sub.chain });
      const done = await client.waitForTx(sub.hash, 60_000);
      if (done.status === 'committed') setState({ phase: 'committed', what, hash: sub.hash, chain: done.chain, height: done.height ?? 0 });
      else setState({ phase: 'failed', what, hash: sub.hash, message: done.error ? `${done.error.message} (${done.error.code})` : 'rejected' });
      return done;
    } catch (e) {
      setState({ phase: 'failed', what, message: (e as Error).message });
      return undefined;
    }
  }, []);
  return { state, send, reset: () => setState({ phase: 'idle' }) };
}
