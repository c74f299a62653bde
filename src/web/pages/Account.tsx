import type { ReactNode } from 'react';
import { BalanceStats } from '../components/BalanceStats.tsx';
import { Card, KV, Loaded, Table, Amount, Addr, Copy } from '../components/ui.tsx';
import { LeasesTable, TasksTable } from '../components/marketTables.tsx';
import { chainName, cores, mib } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { NodeApiError } from '../data/sdk.ts';

// An account: balances (ZNC spendable and vesting-locked, sub-tokens), stake, nonces per chain,
// quota; and what it does on the market: tasks it posted, and as a worker its leases and earnings.

export function Account({ address }: { address: string }) {
  const acc = useLoad(() => client.account(address), [address], { live: true, minMs: 1000 });
  const tasks = useLoad(() => client.tasks({ owner: address, limit: 50 }), [address], { live: true, minMs: 2000 });
  const worker = useLoad(
    () => client.worker(address).catch((e: unknown) => (e instanceof NodeApiError && e.status === 404 ? null : Promise.reject(e))),
    [address],
    { live: true, minMs: 3000 },
  );
  const leases = useLoad(
    () => (worker.data ? client.leases({ worker: address, limit: 100 }) : Promise.resolve({ height: 0, leases: [] })),
    [address, !!worker.data],
    { live: true, minMs: 2000 },
  );
  return (
    <>
      <div className="page-head">
        <h1 className="address-title">
          Account <code data-testid="account-address">{address}</code> <Copy text={address} label="Copy address" />
        </h1>
      </div>
      <Loaded l={acc} what="Reading the account">
        {(a) => (
          <>
            <BalanceStats a={a} testId="account-balance" kind />
            <Card title="Details">
              <KV
                rows={[
                  [
                    'Tokens',
                    Object.keys(a.balances).length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      <span className="list">
                        {Object.entries(a.balances).map(([t, v]) => (
                          <Amount key={t} v={v} unit={t} />
                        ))}
                      </span>
                    ),
                  ],
                  [
                    'Nonces',
                    Object.keys(a.nonces).length === 0 ? (
                      <span className="muted">no transactions yet</span>
                    ) : (
                      Object.entries(a.nonces)
                        .map(([c, n]) => `${chainName(Number(c))}: ${n}`)
                        .join(' · ')
                    ),
                  ],
                  ['Quota', `${a.quota.usedThisWindow} of ${a.quota.limit} transactions used in this ${a.quota.windowMs / 1000} s window`],
                  ...(a.unbonding.length
                    ? ([
                        [
                          'Unbonding',
                          a.unbonding.map((u, i) => (
                            // biome-ignore lint/suspicious/noArrayIndexKey: the node's unbonding queue in release order; two entries may be equal.
                            <Amount key={i} v={u.amount} />
                          )),
                        ],
                      ] as [string, ReactNode][])
                    : []),
                  ...(a.multisig
                    ? ([['Multisig', `${a.multisig.threshold} of ${a.multisig.members.length}: ${a.multisig.label}`]] as [string, ReactNode][])
                    : []),
                ]}
              />
            </Card>
          </>
        )}
      </Loaded>
      {worker.data ? (
        <Card title="As a worker">
          <KV
            rows={[
              [
                'Resources',
                `${cores(worker.data.cpuMillis)}, ${mib(worker.data.memoryMiB)} memory, ${mib(worker.data.diskMiB)} disk, ${worker.data.runtimes.join(' + ')}`,
              ],
              ['Rating', `${worker.data.rating} / 1000 (benchmark ${worker.data.benchmark})`],
              ['Bond', <Amount v={worker.data.bond} />],
              ['Record', `${worker.data.record.completed} completed, ${worker.data.record.failed} failed, ${worker.data.record.abandoned} abandoned`],
            ]}
          />
          <h3>Leases</h3>
          <Loaded l={leases}>{(l) => <LeasesTable leases={l.leases} />}</Loaded>
        </Card>
      ) : null}
      <Card title="Tasks posted">
        <Loaded l={tasks}>{(t) => <TasksTable tasks={t.tasks} empty="This account posted no task." />}</Loaded>
      </Card>
      {acc.data?.multisig ? (
        <Card title="Multisig members">
          <Table head={['Member']}>
            {acc.data.multisig.members.map((m) => (
              <tr key={m}>
                <td>
                  <Addr a={m} />
                </td>
              </tr>
            ))}
          </Table>
        </Card>
      ) : null}
    </>
  );
}
