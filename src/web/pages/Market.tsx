import { LeasesTable, TasksTable } from '../components/marketTables.tsx';
import { MarketFeed } from '../components/MarketFeed.tsx';
import { PostTask } from '../components/PostTask.tsx';
import { Card, Loaded, Stat } from '../components/ui.tsx';
import { useFeed } from '../data/events.ts';
import { useLoad, useStored } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { TASK_STATES, type TaskStateName } from '../data/sdk.ts';

// The market, live: tasks and leases re-read as blocks commit, the event stream's happenings,
// and the form that quotes and posts a task.

export function Market() {
  const [state, setState] = useStored<string>('zeusnet.market.state', '');
  const feed = useFeed();
  const tasks = useLoad(() => client.tasks({ state: state ? (state as TaskStateName) : undefined, limit: 50 }), [state], { live: true, minMs: 1000 });
  const leases = useLoad(() => client.leases({ limit: 30 }), [], { live: true, minMs: 1000 });
  const all = tasks.data?.tasks ?? [];
  return (
    <>
      <div className="page-head">
        <h1>Market</h1>
        <button type="button" className="button" onClick={() => document.getElementById('post-task')?.scrollIntoView({ behavior: 'smooth' })}>
          Post a task ↓
        </button>
      </div>
      <div className="stats">
        <Stat label="Tasks shown">{all.length}</Stat>
        <Stat label="Open">{all.filter((t) => t.state === 'open').length}</Stat>
        <Stat label="Running">{all.filter((t) => t.state === 'running').length}</Stat>
        <Stat label="Leases">{leases.data?.leases.length ?? '…'}</Stat>
        <Stat label="Events heard">{feed.market.length}</Stat>
      </div>
      <div className="two-col">
        <Card
          title="Tasks"
          actions={
            <select aria-label="Filter tasks by state" value={state} onChange={(e) => setState(e.target.value)}>
              <option value="">all states</option>
              {TASK_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          }
        >
          <Loaded l={tasks} what="Reading tasks">
            {(t) => <TasksTable tasks={t.tasks} empty={state ? `No ${state} task.` : 'No task posted yet.'} />}
          </Loaded>
        </Card>
        <Card title="Live events">
          <MarketFeed />
        </Card>
      </div>
      <Card title="Leases">
        <Loaded l={leases} what="Reading leases">
          {(l) => <LeasesTable leases={l.leases} />}
        </Loaded>
      </Card>
      <PostTask />
    </>
  );
}
