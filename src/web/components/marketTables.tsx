import { ago, cores, mib } from '../data/format.ts';
import type { LeaseAnswer, TaskAnswer } from '../data/sdk.ts';
import { Addr, Amount, Badge, Hash, Link, Table, Empty } from './ui.tsx';

// The task and lease tables the market, account, worker and app pages share.

export function TasksTable({ tasks, empty = 'No tasks yet.' }: { tasks: TaskAnswer[]; empty?: string }) {
  if (tasks.length === 0) return <Empty>{empty}</Empty>;
  return (
    <Table head={['Task', 'State', 'App', 'Needs', 'Max price/h', 'Escrow', 'Bids', 'Leases', 'Owner', 'Posted']} className="tasks">
      {tasks.map((t) => (
        <tr key={t.id} data-task={t.id}>
          <td>
            <Hash h={t.id} to={['task', t.id]} />
          </td>
          <td>
            <Badge s={t.state} />
          </td>
          <td>{t.app ? `${t.app}@${t.version}` : <code>{t.digest.slice(7, 19)}</code>}</td>
          <td className="nowrap">
            {cores(t.needs.cpuMillis)}, {mib(t.needs.memoryMiB)}, {t.needs.runtime}
          </td>
          <td>
            <Amount v={t.maxPricePerHour} />
          </td>
          <td>
            <Amount v={t.escrow} />
          </td>
          <td>{t.bidCount}</td>
          <td>{t.leaseCount}</td>
          <td>
            <Addr a={t.owner} />
          </td>
          <td>
            <Link to={['block', t.postedAt]}>#{t.postedAt}</Link>
          </td>
        </tr>
      ))}
    </Table>
  );
}

/** Leases; on a task's own page (`ofTask`) without the task column, with what is held and the result. */
export function LeasesTable({ leases, empty = 'No leases yet.', ofTask = false }: { leases: LeaseAnswer[]; empty?: string; ofTask?: boolean }) {
  if (leases.length === 0) return <Empty>{empty}</Empty>;
  const head = ofTask
    ? ['Lease', 'State', 'Worker', 'Price/h', 'Reports', 'Worker paid', 'License fees', 'Held', 'Result', 'Started', 'Outcome']
    : ['Task', 'Lease', 'State', 'Worker', 'Price/h', 'Reports', 'Worker paid', 'License fees', 'Started', 'Outcome'];
  return (
    <Table head={head}>
      {leases.map((l) => (
        <tr key={`${l.task}-${l.index}`} data-lease={l.index}>
          {ofTask ? null : (
            <td>
              <Hash h={l.task} to={['task', l.task]} />
            </td>
          )}
          <td>{l.index}</td>
          <td>
            <Badge s={l.state} />
          </td>
          <td>
            <Addr a={l.worker} />
          </td>
          <td>
            <Amount v={l.price} />
          </td>
          <td>{l.reports}</td>
          <td>
            <Amount v={l.workerPaid} />
          </td>
          <td>
            <Amount v={l.feePaid} unit={l.feeToken} />
          </td>
          {ofTask ? (
            <>
              <td>
                <Amount v={l.held} />
              </td>
              <td>{l.resultDigest ? <Hash h={l.resultDigest} head={14} tail={6} /> : '—'}</td>
            </>
          ) : null}
          <td>{l.startedAt ? ago(l.startedAt) : '—'}</td>
          <td>{l.outcome || '—'}</td>
        </tr>
      ))}
    </Table>
  );
}
