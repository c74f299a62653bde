import { useMemo, type ReactNode } from 'react';
import { Addr, Badge, Card, Hash, KV, Link, Loaded } from '../components/ui.tsx';
import { payloadValue, txSummary } from '../components/txSummary.tsx';
import { chainName } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { verifyInclusion } from '../data/proof.ts';
import type { InclusionProofAnswer } from '../data/sdk.ts';

// A transaction: pending, refused (with the ledger's reason) or committed, and then where (chain,
// height, index) with the Merkle path from it to its segment's transaction root, checked here.

function ProofCheck({ p }: { p: InclusionProofAnswer }) {
  const ok = useMemo(() => {
    try {
      return verifyInclusion(p);
    } catch {
      return false; // malformed hex from the node fails the check
    }
  }, [p]);
  return ok ? (
    <span className="verified" data-testid="proof-verified">
      ✓ verified in this browser: the path leads from the transaction to the segment's root
    </span>
  ) : (
    <span className="failed">✗ the path does not lead to the root</span>
  );
}

export function Tx({ hash }: { hash: string }) {
  const l = useLoad(() => client.tx(hash), [hash], { live: true, minMs: 1000 });
  return (
    <>
      <div className="page-head">
        <h1>Transaction</h1>
      </div>
      <Loaded l={l} what="Looking the transaction up">
        {(t) => (
          <>
            <Card title={t.tx ? `${t.tx.kind}` : 'Status'}>
              <KV
                rows={[
                  ['Hash', <Hash h={t.hash} head={20} tail={12} />],
                  ['Status', <Badge s={t.status} />],
                  ['Chain', chainName(t.chain)],
                  ...(t.height !== undefined
                    ? ([
                        ['Height', <Link to={['block', t.height, t.chain]}>{t.height}</Link>],
                        ['Index in segment', String(t.index)],
                      ] as [string, ReactNode][])
                    : []),
                  ...(t.error ? ([['Refused', `${t.error.message} (${t.error.code})`]] as [string, ReactNode][]) : []),
                  ...(t.tx
                    ? ([
                        ['From', <Addr a={t.tx.from} full />],
                        ['Nonce', t.tx.nonce],
                        ['Summary', txSummary(t.tx)],
                      ] as [string, ReactNode][])
                    : []),
                ]}
              />
            </Card>
            {t.tx ? (
              <Card title="Payload">
                <KV rows={Object.entries(t.tx.payload).map(([k, v]) => [k, payloadValue(k, v)])} />
              </Card>
            ) : null}
            {t.inclusion ? (
              <Card title="Inclusion proof" className="proof">
                <p>
                  <ProofCheck p={t.inclusion.proof} />
                </p>
                <KV
                  rows={[
                    ['Block', <Hash h={t.inclusion.blockHash} to={['block', t.height ?? 0]} head={16} tail={8} />],
                    ['Segment', <Hash h={t.inclusion.segment.hash} head={16} tail={8} />],
                    ['Leaf (tx hash)', <Hash h={t.inclusion.proof.leaf} head={16} tail={8} />],
                    ['Position', `${t.inclusion.proof.index} of ${t.inclusion.proof.size}`],
                    ['Transaction root', <Hash h={t.inclusion.proof.root} head={16} tail={8} />],
                  ]}
                />
                <h3>Audit path (RFC 6962, bottom up)</h3>
                {t.inclusion.proof.path.length === 0 ? (
                  <p className="muted">Empty: the transaction is the segment's only one, its leaf hash is the root.</p>
                ) : (
                  <ol className="path">
                    {t.inclusion.proof.path.map((h, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: the index is the level in the audit path (the same hash may occur twice).
                      <li key={i}>
                        <Hash h={h} head={16} tail={8} />
                      </li>
                    ))}
                  </ol>
                )}
              </Card>
            ) : null}
          </>
        )}
      </Loaded>
    </>
  );
}
