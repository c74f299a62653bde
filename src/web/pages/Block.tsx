import { Addr, Card, Hash, Link, Loaded, KV, Table, Empty } from '../components/ui.tsx';
import { txSummary } from '../components/txSummary.tsx';
import { CHAIN_NAMES, chainName, clock } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';

// A height: the main block's header and certificate, the ten segments it commits to (each with
// its own transaction root and state root), and the transactions of the chosen segment.

export function Block({ height, chain }: { height: number; chain: number | undefined }) {
  const block = useLoad(() => client.block(height), [height]);
  const shown =
    chain ??
    (block.data
      ? Math.max(
          0,
          block.data.txs.findIndex((t) => t.length > 0),
        )
      : 0);
  const seg = useLoad(() => client.segment(height, shown), [height, shown]);
  const keepers = useLoad(() => client.bookkeepers(), []);
  return (
    <>
      <div className="page-head">
        <h1>
          Block {height.toLocaleString()}
          <span className="nav-pills">
            {height > 1 ? <Link to={['block', height - 1]}>← {height - 1}</Link> : null}
            <Link to={['block', height + 1]}>{height + 1} →</Link>
          </span>
        </h1>
      </div>
      <Loaded l={block} what="Reading the block">
        {(b) => {
          const segments = b.segments;
          return (
            <>
              <Card title="Header">
                <KV
                  rows={[
                    ['Hash', <Hash h={b.hash} head={16} tail={10} />],
                    ['Previous', <Hash h={String(b.prevHash ?? '')} to={['block', height - 1]} head={16} tail={10} />],
                    ['Time', `${new Date(b.time).toLocaleDateString()} ${clock(b.time)}`],
                    [
                      'Proposer',
                      <>
                        {keepers.data?.candidates.find((c) => c.publicKey === b.proposer)?.name ?? ''} <Hash h={b.proposer} head={12} tail={6} />
                      </>,
                    ],
                    ['Transactions', String(b.txs.reduce((s, t) => s + t.length, 0))],
                    [
                      'Certificate',
                      `round ${b.certificate.round}, ${b.certificate.signers.length} bookkeeper signature${b.certificate.signers.length === 1 ? '' : 's'}`,
                    ],
                  ]}
                />
              </Card>
              <Card title="Segments: the main chain and nine inner chains at this height">
                <Table head={['Chain', 'Txs', 'Transaction root', 'State root']}>
                  {segments.map((s) => (
                    <tr key={s.chain} className={s.chain === shown ? 'selected' : undefined}>
                      <td>
                        <Link to={['block', height, s.chain]}>{CHAIN_NAMES[s.chain]}</Link>
                      </td>
                      <td>{s.txCount}</td>
                      <td>
                        <Hash h={s.txRoot} />
                      </td>
                      <td>
                        <Hash h={s.stateRoot} />
                      </td>
                    </tr>
                  ))}
                </Table>
              </Card>
            </>
          );
        }}
      </Loaded>
      <Card title={`Transactions on ${chainName(shown)}`}>
        <Loaded l={seg} what="Reading the segment">
          {(s) =>
            s.txs.length === 0 ? (
              <Empty>No transactions on {chainName(shown)} at this height.</Empty>
            ) : (
              <Table head={['#', 'Hash', 'Kind', 'From', 'What']}>
                {s.txs.map((t, i) => (
                  <tr key={t.hash}>
                    <td>{i}</td>
                    <td>
                      <Hash h={t.hash} to={['tx', t.hash]} />
                    </td>
                    <td>{t.kind}</td>
                    <td>
                      <Addr a={t.from} />
                    </td>
                    <td>{txSummary(t)}</td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Loaded>
      </Card>
    </>
  );
}
