import { Addr, Amount, Badge, Card, Loaded, Table, Empty } from '../components/ui.tsx';
import { cores, mib } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { isLeaseAtWork, type LeaseAnswer, type WorkerAnswer } from '../data/sdk.ts';

// Workers: what each offers and asks, its rating and record, its leases now and what the chain
// has paid it (summed over its leases).

function earnings(leases: LeaseAnswer[]): Map<string, { paid: bigint; running: number; total: number }> {
  const m = new Map<string, { paid: bigint; running: number; total: number }>();
  for (const l of leases) {
    const e = m.get(l.worker) ?? { paid: 0n, running: 0, total: 0 };
    e.paid += BigInt(l.workerPaid);
    e.total++;
    if (isLeaseAtWork(l.state)) e.running++;
    m.set(l.worker, e);
  }
  return m;
}

function WorkerRow({ w, e }: { w: WorkerAnswer; e?: { paid: bigint; running: number; total: number } }) {
  return (
    <tr data-worker={w.address}>
      <td>
        <Addr a={w.address} />
      </td>
      <td>
        <Badge s={w.active ? 'active' : 'leaving'} />
      </td>
      <td className="nowrap">
        {cores(w.cpuMillis)}, {mib(w.memoryMiB)}
        {w.diskMiB ? `, ${mib(w.diskMiB)} disk` : ''}
        {w.gpus.map((g) => `, ${g.count}× ${g.model}`).join('')}
      </td>
      <td>{w.runtimes.join(', ')}</td>
      <td className="nowrap">
        <Amount v={w.prices.cpuCoreHour} />
        /core·h
        <br />
        <Amount v={w.prices.memoryGiBHour} />
        /GiB·h
        {w.gpus.length > 0 ? (
          <>
            <br />
            <Amount v={w.prices.gpuHour} />
            /GPU·h
          </>
        ) : null}
      </td>
      <td>
        <meter min={0} max={1000} value={w.rating} title={`${w.rating} of 1000`} /> {w.rating}
      </td>
      <td className="nowrap">
        {w.record.completed} ✓ · {w.record.failed} ✗
      </td>
      <td>
        {e?.running ?? 0} / {e?.total ?? 0}
      </td>
      <td>
        <span data-testid="worker-earnings">
          <Amount v={e?.paid ?? 0n} />
        </span>
      </td>
      <td>
        <Amount v={w.bond} />
      </td>
    </tr>
  );
}

export function Workers() {
  const workers = useLoad(() => client.workers(), [], { live: true, minMs: 2000 });
  const leases = useLoad(() => client.leases({ limit: 1000 }), [], { live: true, minMs: 2000 });
  const e = earnings(leases.data?.leases ?? []);
  return (
    <>
      <div className="page-head">
        <h1>Workers</h1>
      </div>
      <Card title="Registered workers" actions={<span className="muted">earnings: what their leases were paid</span>}>
        <Loaded l={workers} what="Reading workers">
          {(d) =>
            d.workers.length === 0 ? (
              <Empty>No worker registered yet: start one with `zeus worker start --key NAME`.</Empty>
            ) : (
              <Table head={['Worker', 'State', 'Resources', 'Runtimes', 'Asks', 'Rating', 'Record', 'Leases running / all', 'Earned', 'Bond']}>
                {d.workers.map((w) => (
                  <WorkerRow key={w.address} w={w} e={e.get(w.address)} />
                ))}
              </Table>
            )
          }
        </Loaded>
      </Card>
    </>
  );
}
