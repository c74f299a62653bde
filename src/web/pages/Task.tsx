import type { ReactNode } from 'react';
import { LeasesTable } from '../components/marketTables.tsx';
import { MarketFeed } from '../components/MarketFeed.tsx';
import { TxState } from '../components/TxState.tsx';
import { Addr, Amount, Badge, Card, Hash, KV, Link, Loaded, Stat, Table, Empty } from '../components/ui.tsx';
import { ago, cores, mib } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { taskEscrow, Tx, type TaskDetailAnswer } from '../data/sdk.ts';
import { useSend } from '../data/send.ts';
import { useWallet } from '../data/wallet.ts';

// A task from its post to its end: the timeline (posted, bids, the window closing, leases
// matched, started, reporting, the result, the review, the end), the payments out of escrow
// (to the worker, to the app's developer, back to the poster), and its live events.

interface Step {
  height: number | null;
  at?: number | null;
  title: ReactNode;
  detail?: ReactNode;
  state: 'done' | 'now' | 'later';
}

function timeline(t: TaskDetailAnswer, height: number): Step[] {
  const steps: Step[] = [];
  steps.push({ height: t.postedAt, title: 'Posted', detail: <>escrow of the worst case moved from the poster</>, state: 'done' });
  for (const b of t.bids) {
    steps.push({
      height: b.height,
      title: (
        <>
          Bid by <Addr a={b.worker} />
        </>
      ),
      detail: (
        <>
          <Amount v={b.price} />
          /h, rating {b.rating}
          {b.used ? ' — won a lease' : b.withdrawn ? ' — withdrawn' : ''}
        </>
      ),
      state: 'done',
    });
  }
  const closed = height > t.closeHeight;
  steps.push({
    height: t.closeHeight,
    title: closed ? 'Bid window closed' : 'Bid window closes',
    detail:
      t.noBidReasons && Object.keys(t.noBidReasons).length ? (
        <>
          nobody bid ({t.noBidReasons.workers ?? 0} worker(s) looked at):{' '}
          {Object.entries(t.noBidReasons)
            .filter(([k]) => k !== 'workers')
            .map(([k, v]) => `${k.toLowerCase().replace(/_/g, ' ')} ×${v}`)
            .join(', ')}
        </>
      ) : closed ? (
        'the matcher leased the best bids (price, then rating)'
      ) : (
        `in ${t.closeHeight - height + 1} block(s)`
      ),
    state: closed ? 'done' : 'now',
  });
  for (const l of t.leases) {
    steps.push({
      height: l.matchedAt,
      title: (
        <>
          Lease {l.index} matched to <Addr a={l.worker} />
        </>
      ),
      detail: (
        <>
          at <Amount v={l.price} />
          /h; must start by height {l.startBy}
        </>
      ),
      state: 'done',
    });
    if (l.startedAt) {
      steps.push({
        height: null,
        at: l.startedAt,
        title: `Lease ${l.index} started`,
        detail: l.endpoint ? `endpoint ${l.endpoint}` : 'running on the worker',
        state: 'done',
      });
    }
    if (l.reports > 0) {
      steps.push({
        height: null,
        title: `${l.reports} usage report${l.reports === 1 ? '' : 's'}`,
        detail: (
          <>
            worker paid <Amount v={l.workerPaid} /> so far (held for review: <Amount v={l.held} />)
          </>
        ),
        state: l.endedAt ? 'done' : 'now',
      });
    }
    if (l.resultDigest) {
      steps.push({
        height: l.reviewEnd !== null ? l.reviewEnd : null,
        title: `Result of lease ${l.index}`,
        detail: (
          <>
            <Hash h={l.resultDigest} head={14} tail={8} /> — review{' '}
            {l.reviewEnd !== null && height <= l.reviewEnd ? `until height ${l.reviewEnd}; the poster may dispute` : 'over'}
          </>
        ),
        state: l.state === 'completed' ? 'now' : 'done',
      });
    }
    if (l.endedAt) {
      steps.push({
        height: l.endedAt,
        title: (
          <>
            Lease {l.index} <Badge s={l.state} />
          </>
        ),
        detail: (
          <>
            {l.outcome || l.state}: worker paid <Amount v={l.workerPaid} />, license fee <Amount v={l.feePaid} unit={l.feeToken} />
          </>
        ),
        state: 'done',
      });
    }
  }
  if (t.endedAt) steps.push({ height: t.endedAt, title: <>Task {t.state}</>, detail: 'the rest of the escrow went back to the poster', state: 'done' });
  else steps.push({ height: null, title: 'Running…', detail: 'this page follows the chain; it updates as blocks commit', state: 'later' });
  return steps;
}

function Payments({ t }: { t: TaskDetailAnswer }) {
  const escrowed = taskEscrow({ ...t, maxPricePerHour: BigInt(t.maxPricePerHour), licenseFeePerHour: BigInt(t.licenseFeePerHour) }).escrow;
  const workerPaid = t.leases.reduce((s, l) => s + BigInt(l.workerPaid), 0n);
  const feePaid = t.leases.reduce((s, l) => s + BigInt(l.feePaid), 0n);
  const ended = t.endedAt !== null;
  const refunded = ended ? escrowed - workerPaid - (t.feeToken === 'ZNC' ? feePaid : 0n) - BigInt(t.escrow) : 0n;
  return (
    <div className="stats payments" data-testid="payments">
      <Stat label="Escrowed at post" hint="max price × max hours × replicas × redundancy, plus the license fee">
        <Amount v={escrowed} />
      </Stat>
      <Stat label="Paid to workers">
        <span data-testid="worker-paid">
          <Amount v={workerPaid} />
        </span>
      </Stat>
      <Stat label="License fees to the developer">
        <span data-testid="fee-paid">
          <Amount v={feePaid} unit={t.feeToken} />
        </span>
      </Stat>
      <Stat label="Held in escrow now">
        <Amount v={t.escrow} />
      </Stat>
      <Stat label={ended ? 'Refunded to the poster' : 'Refund at the end'} hint="what the task did not spend returns to its poster when it ends">
        {ended ? (
          <span data-testid="refunded">
            <Amount v={refunded} />
          </span>
        ) : (
          <span className="muted">when it ends</span>
        )}
      </Stat>
    </div>
  );
}

export function Task({ id }: { id: string }) {
  const l = useLoad(() => client.task(id), [id], { live: true, minMs: 700 });
  const { keys } = useWallet();
  const cancel = useSend();
  return (
    <>
      <div className="page-head">
        <h1 className="address-title">
          Task <code>{id.slice(0, 16)}…</code>
        </h1>
        {l.data ? <Badge s={l.data.state} /> : null}
      </div>
      <Loaded l={l} what="Reading the task">
        {(t) => {
          const owner = keys.find((k) => k.address === t.owner);
          return (
            <>
              <div className="two-col">
                <Card title="Timeline">
                  <ol className="timeline" data-testid="timeline">
                    {timeline(t, t.height).map((s, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: the timeline is rebuilt in its fixed order from the task on every render; its steps have no id and hold no state.
                      <li key={i} className={s.state}>
                        <span className="at">{s.height !== null ? <Link to={['block', s.height, t.chain]}>#{s.height}</Link> : s.at ? ago(s.at) : ''}</span>
                        <div>
                          <div className="title">{s.title}</div>
                          {s.detail ? <div className="detail">{s.detail}</div> : null}
                        </div>
                      </li>
                    ))}
                  </ol>
                </Card>
                <Card title="The task">
                  <KV
                    rows={[
                      ['Id', <Hash h={t.id} head={16} tail={8} />],
                      ['App', t.app ? `${t.app}@${t.version}` : 'raw image'],
                      ['Image', <Hash h={t.digest} head={18} tail={6} />],
                      ['Kind', t.kind],
                      [
                        'Needs (each replica)',
                        `${cores(t.needs.cpuMillis)}, ${mib(t.needs.memoryMiB)}, ${t.needs.runtime}${t.needs.gpuCount ? `, ${t.needs.gpuCount} GPU` : ''}`,
                      ],
                      ['Replicas', `${t.replicas} × redundancy ${t.redundancy}`],
                      [
                        'Max price',
                        <>
                          <Amount v={t.maxPricePerHour} /> per hour
                        </>,
                      ],
                      ['Max hours', String(t.maxHours)],
                      ['Owner', <Addr a={t.owner} />],
                      ['Developer', <Addr a={t.developer} />],
                      ['Chain', `inner ${t.chain}`],
                    ]}
                  />
                  {owner && (t.state === 'open' || t.state === 'running') ? (
                    <div className="buttons">
                      <button type="button" className="danger" onClick={() => void cancel.send(owner, Tx.cancelTask(t.id), 'cancellation')}>
                        Cancel the task
                      </button>
                    </div>
                  ) : null}
                  <TxState s={cancel.state} />
                </Card>
              </div>
              <Card title="Payments">
                <Payments t={t} />
              </Card>
              <Card title="Leases">
                <LeasesTable
                  leases={t.leases}
                  ofTask
                  empty={t.endedAt !== null ? 'No lease: nobody served the task.' : `No lease yet: workers bid until height ${t.closeHeight}.`}
                />
              </Card>
              <Card title="Bids">
                {t.bids.length === 0 ? (
                  <Empty>No bid yet.</Empty>
                ) : (
                  <Table head={['#', 'Worker', 'Price/h', 'Rating', 'Height', 'Won']}>
                    {t.bids.map((b) => (
                      <tr key={b.index}>
                        <td>{b.index}</td>
                        <td>
                          <Addr a={b.worker} />
                        </td>
                        <td>
                          <Amount v={b.price} />
                        </td>
                        <td>{b.rating}</td>
                        <td>{b.height}</td>
                        <td>{b.used ? '✓' : ''}</td>
                      </tr>
                    ))}
                  </Table>
                )}
              </Card>
              <Card title="Events heard since this page opened">
                <MarketFeed task={t.id} />
              </Card>
            </>
          );
        }}
      </Loaded>
    </>
  );
}
