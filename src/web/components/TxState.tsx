import type { SendState } from '../data/send.ts';
import { Hash, Link } from './ui.tsx';

/** What became of the transaction a form sent: signing, waiting for its block, committed, refused. */
export function TxState({ s }: { s: SendState }) {
  if (s.phase === 'idle') return null;
  if (s.phase === 'sending')
    return (
      <p className="txstate pending" role="status">
        <span className="spinner" /> Signing and sending the {s.what}…
      </p>
    );
  if (s.phase === 'pending')
    return (
      <p className="txstate pending" role="status">
        <span className="spinner" /> The {s.what} is waiting for a block on chain {s.chain}: <Hash h={s.hash} to={['tx', s.hash]} />
      </p>
    );
  if (s.phase === 'committed')
    return (
      <p className="txstate ok" role="status" data-testid="tx-committed">
        ✓ The {s.what} is final at height <Link to={['block', s.height]}>{s.height}</Link> (chain {s.chain}): <Hash h={s.hash} to={['tx', s.hash]} />
      </p>
    );
  return (
    <p className="txstate failed" role="alert">
      ✗ The {s.what} failed: {s.message}
      {s.hash ? (
        <>
          {' '}
          <Hash h={s.hash} to={['tx', s.hash]} />
        </>
      ) : null}
    </p>
  );
}
