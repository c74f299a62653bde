import { Addr, Amount, Badge, Card, Hash, Loaded, Table, Empty } from '../components/ui.tsx';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';

// Apps: every version with its image digest and license fee, who develops it, and what its
// developer earned from license fees (summed over the leases of its tasks).

export function Apps() {
  const apps = useLoad(() => client.apps(), [], { live: true, minMs: 3000 });
  const tasks = useLoad(() => client.tasks({ limit: 1000 }), [], { live: true, minMs: 3000 });
  const leases = useLoad(() => client.leases({ limit: 1000 }), [], { live: true, minMs: 3000 });
  const appOfTask = new Map((tasks.data?.tasks ?? []).map((t) => [t.id, `${t.app}@${t.version}`]));
  const earned = new Map<string, bigint>();
  const runs = new Map<string, number>();
  for (const l of leases.data?.leases ?? []) {
    const a = appOfTask.get(l.task);
    if (!a) continue;
    earned.set(a, (earned.get(a) ?? 0n) + BigInt(l.feePaid));
    runs.set(a, (runs.get(a) ?? 0) + 1);
  }
  return (
    <>
      <div className="page-head">
        <h1>Apps</h1>
      </div>
      <Loaded l={apps} what="Reading apps">
        {(d) =>
          d.apps.length === 0 ? (
            <Card>
              <Empty>No app published yet: `zeus app publish IMAGE --from KEY --name NAME --version V`.</Empty>
            </Card>
          ) : (
            <Card title="Published apps">
              <Table head={['App', 'Version', 'Image digest', 'License fee/h', 'Developer', 'Published', 'Leases', 'Fees earned', '']}>
                {d.apps.flatMap((a) =>
                  a.versions.map((v) => {
                    const key = `${v.name}@${v.version}`;
                    return (
                      <tr key={key} data-app={key}>
                        <td>
                          <b>{v.name}</b>
                        </td>
                        <td>{v.version}</td>
                        <td>
                          <Hash h={v.digest} head={14} tail={6} />
                        </td>
                        <td>
                          <Amount v={v.licenseFeePerHour} unit={v.feeToken} />
                          {v.requiresLicense ? ' (license required)' : ''}
                        </td>
                        <td>
                          <Addr a={v.developer} />
                        </td>
                        <td>#{v.publishedAt}</td>
                        <td>{runs.get(key) ?? 0}</td>
                        <td data-testid="app-earned">
                          <Amount v={earned.get(key) ?? 0n} unit={v.feeToken} />
                        </td>
                        <td>{v.deprecated ? <Badge s="deprecated" /> : null}</td>
                      </tr>
                    );
                  }),
                )}
              </Table>
            </Card>
          )
        }
      </Loaded>
    </>
  );
}
