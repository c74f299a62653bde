import { useFeed, type LiveMarketEvent } from '../data/events.ts';
import { clock, znc } from '../data/format.ts';
import { encodeAddress, fromHex } from '../data/sdk.ts';
import { Addr, Badge, Empty, Hash, Link } from './ui.tsx';

// The market's happenings as the node's event stream announces them.

const KIND_TEXT: Record<string, string> = {
  'task-posted': 'task posted',
  'window-closed': 'bid window closed',
  'lease-matched': 'lease matched',
  'lease-started': 'lease started',
  'lease-ended': 'lease ended',
  'escrow-low': 'escrow low',
  'task-ended': 'task ended',
};
const KIND_BADGE: Record<string, string> = {
  'task-posted': 'open',
  'window-closed': 'pending',
  'lease-matched': 'matched',
  'lease-started': 'running',
  'lease-ended': 'completed',
  'escrow-low': 'failed',
  'task-ended': 'done',
};

/** The stream names workers by their raw address in hex; the console writes znc1…. */
export function workerAddress(hex: string | undefined): string | undefined {
  if (!hex) return undefined;
  try {
    return encodeAddress(fromHex(hex));
  } catch {
    return undefined;
  }
}

export function MarketEventLine({ e, showTask = true }: { e: LiveMarketEvent; showTask?: boolean }) {
  return (
    <li className="event" data-kind={e.kind}>
      <span className="when">{clock(e.receivedAt)}</span>
      <Badge s={KIND_BADGE[e.kind] ?? 'grey'} title={e.kind} />
      <span className="what">
        <b>{KIND_TEXT[e.kind] ?? e.kind}</b>
        {showTask ? (
          <>
            {' '}
            <Hash h={e.task} to={['task', e.task]} />
          </>
        ) : null}
        {e.lease !== undefined ? ` lease ${e.lease}` : ''}
        {e.worker ? (
          <>
            {' '}
            by <Addr a={workerAddress(e.worker)} />
          </>
        ) : null}
        {e.detail ? <span className="detail"> — {e.detail.replace(/(\d+) base units/g, (_, n: string) => `${znc(n)} ZNC`)}</span> : null}
        <span className="muted">
          {' '}
          at <Link to={['block', e.height, e.chain]}>#{e.height}</Link>
        </span>
      </span>
    </li>
  );
}

export function MarketFeed({ task, limit = 30 }: { task?: string; limit?: number }) {
  const feed = useFeed();
  const events = (task ? feed.market.filter((e) => e.task === task) : feed.market).slice(0, limit);
  if (events.length === 0)
    return <Empty>{task ? 'No event for this task since the page opened.' : 'Listening… market events appear here as blocks commit them.'}</Empty>;
  return (
    <ul className="events" data-testid="market-events">
      {events.map((e) => (
        <MarketEventLine key={e.seq} e={e} showTask={!task} />
      ))}
    </ul>
  );
}
