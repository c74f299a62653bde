import { useCallback, useState } from 'react';
import { client } from './client.ts';
import type { FinalTx, TxIntent } from './sdk.ts';
import { keyPairOf, type WalletKey } from './wallet.ts';

// Signing and sending from the wallet with the SDK: it builds the transaction (Tx.…), signs it
// here with the key held in this browser (the nonce of the chain it routes to), submits the
// bytes, and waits for finality on the node's event stream.

export type SendState =
  | { phase: 'idle' }
  | { phase: 'sending'; what: string }
  | { phase: 'pending'; what: string; hash: string; chain: number }
  | { phase: 'committed'; what: string; hash: string; chain: number; height: number }
  | { phase: 'failed'; what: string; message: string; hash?: string };

export function useSend(): {
  state: SendState;
  send: (key: WalletKey | undefined, intent: TxIntent, what: string) => Promise<FinalTx | undefined>;
  reset: () => void;
} {
  const [state, setState] = useState<SendState>({ phase: 'idle' });
  const send = useCallback(async (key: WalletKey | undefined, intent: TxIntent, what: string) => {
    if (!key) {
      setState({ phase: 'failed', what, message: 'no key in the wallet: create or import one on the Wallet page first' });
      return undefined;
    }
    setState({ phase: 'sending', what });
    let hash: string | undefined;
    try {
      const signed = await client.sign(keyPairOf(key), intent);
      hash = signed.hash;
      await client.submit(signed.bytes);
      setState({ phase: 'pending', what, hash, chain: signed.chain });
      const done = await client.waitForFinality(hash, { timeoutMs: 60_000 });
      setState({ phase: 'committed', what, hash, chain: done.chain, height: done.height });
      return done;
    } catch (e) {
      const err = e as Error & { code?: string };
      setState({ phase: 'failed', what, hash, message: err.code && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message });
      return undefined;
    }
  }, []);
  return { state, send, reset: () => setState({ phase: 'idle' }) };
}
