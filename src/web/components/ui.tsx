import { useState, type ReactNode } from 'react';
import { short, znc } from '../data/format.ts';
import { useWallet } from '../data/wallet.ts';
import { href } from '../router.ts';

// Small building blocks every page uses: links, copyable ids, amounts, states, cards, tables.

export function Link({ to, children, className }: { to: (string | number)[]; children: ReactNode; className?: string }) {
  return (
    <a href={href(...to)} className={className}>
      {children}
    </a>
  );
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  document.execCommand('copy');
  ta.remove();
}

export function Copy({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="copy"
      title={`${label}: ${text}`}
      aria-label={`${label} ${text}`}
      onClick={(e) => {
        e.preventDefault();
        e.stopPropagation();
        void copyText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        });
      }}
    >
      {done ? (
        '✓'
      ) : (
        <svg viewBox="0 0 16 16" width="13" height="13" aria-hidden="true">
          <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M11 3.5V3a1 1 0 0 0-1-1H3a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
        </svg>
      )}
    </button>
  );
}

/** An address, shortened, with the wallet's name for it if it has one, a link to its page and a copy button. */
export function Addr({ a, full = false, named = true }: { a: string | null | undefined; full?: boolean; named?: boolean }) {
  const { keys } = useWallet();
  if (!a) return <span className="muted">—</span>;
  const name = named ? keys.find((k) => k.address === a)?.name : undefined;
  return (
    <span className={full ? 'id full' : 'id'}>
      <Link to={['account', a]}>
        {name ? <b className="keyname">{name} </b> : null}
        <code title={a}>{full ? a : short(a, 10, 6)}</code>
      </Link>
      <Copy text={a} label="Copy address" />
    </span>
  );
}

/** A hash or id, shortened, linked when `to` is given, with a copy button. */
export function Hash({ h, to, head = 8, tail = 6 }: { h: string; to?: (string | number)[]; head?: number; tail?: number }) {
  const text = <code title={h}>{short(h, head, tail)}</code>;
  return (
    <span className="id">
      {to ? <Link to={to}>{text}</Link> : text}
      <Copy text={h} label="Copy" />
    </span>
  );
}

export function Amount({ v, unit = 'ZNC', decimals, sign }: { v: bigint | string | number; unit?: string; decimals?: number; sign?: boolean }) {
  const b = BigInt(v);
  return (
    <span className={`amount${sign && b > 0n ? ' plus' : ''}${sign && b < 0n ? ' minus' : ''}`}>
      {sign && b > 0n ? '+' : ''}
      {znc(b, decimals)} <small>{unit}</small>
    </span>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="error" role="alert">
      <b>{error.name === 'NodeApiError' ? 'The node answered an error' : 'Something went wrong'}:</b> {error.message}
      {retry ? (
        <button type="button" className="link" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** Loading, error or the content: what every page does with a useLoad() result. */
export function Loaded<T>({
  l,
  what,
  children,
}: {
  l: { data: T | undefined; error: Error | undefined; reload: () => void };
  what?: string;
  children: (d: T) => ReactNode;
}) {
  if (l.data !== undefined) {
    return (
      <>
        {l.error ? <ErrorBox error={l.error} retry={l.reload} /> : null}
        {children(l.data)}
      </>
    );
  }
  if (l.error) return <ErrorBox error={l.error} retry={l.reload} />;
  return <Loading what={what} />;
}

export function Card({
  title,
  children,
  actions,
  className,
  id,
}: {
  title?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  className?: string;
  id?: string;
}) {
  return (
    <section className={`card ${className ?? ''}`} id={id}>
      {title || actions ? (
        <header>
          {title ? <h2>{title}</h2> : null}
          {actions ? <div className="actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function Stat({ label, children, hint }: { label: string; children: ReactNode; hint?: string }) {
  return (
    <div className="stat" title={hint}>
      <div className="label">{label}</div>
      <div className="value">{children}</div>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

const BADGE: Record<string, string> = {
  open: 'blue',
  matched: 'blue',
  running: 'amber',
  started: 'amber',
  pending: 'amber',
  done: 'green',
  completed: 'green',
  settled: 'green',
  committed: 'green',
  active: 'green',
  'in set': 'green',
  cancelled: 'grey',
  expired: 'grey',
  leaving: 'grey',
  failed: 'red',
  rejected: 'red',
  disputed: 'red',
  jailed: 'red',
  slashed: 'red',
  // governance proposals
  deposit: 'amber',
  voting: 'blue',
  passed: 'green',
  executed: 'green',
  vetoed: 'red',
  yes: 'green',
  no: 'red',
  abstain: 'grey',
  veto: 'red',
};

export function Badge({ s, title }: { s: string; title?: string }) {
  return (
    <span className={`badge ${BADGE[s] ?? 'grey'}`} title={title}>
      {s}
    </span>
  );
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Table({ head, children, className, testId }: { head: ReactNode[]; children: ReactNode; className?: string; testId?: string }) {
  return (
    <div className="table-wrap" data-testid={testId}>
      <table className={className}>
        <thead>
          <tr>
            {head.map((h, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a column's place is its identity (the headers are fixed per table and may repeat or be elements).
              <th key={i}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function KV({ rows }: { rows: [ReactNode, ReactNode][] }) {
  return (
    <dl className="kv">
      {rows.map(([k, v], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a row's place is its identity (the caller's fixed list of rows; its labels may be elements).
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
