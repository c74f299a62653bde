import type { ReactNode } from 'react';
import { cores, mib } from '../data/format.ts';
import { encodeAddress, toHex, type TxAnswer } from '../data/sdk.ts';
import { Addr, Amount, Hash } from './ui.tsx';

// One line that says what a transaction does, from its kind and payload as the API shows them
// (amounts in base units as strings, addresses znc1…, bytes hex).

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));

/** Payload addresses come as znc1… (21 bytes) or, in arrays, the same; anything else as it is. */
function addrOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return encodeAddress(v);
  return str(v);
}

export function txSummary(tx: Pick<TxAnswer, 'kind' | 'payload'>): ReactNode {
  const p = tx.payload;
  switch (tx.kind) {
    case 'Transfer':
      return (
        <>
          <Amount v={str(p.amount)} unit={str(p.token) || 'ZNC'} /> to <Addr a={addrOf(p.to)} />
        </>
      );
    case 'Stake':
    case 'Unstake':
      return <Amount v={str(p.amount)} />;
    case 'VoteBookkeepers':
      return <>for {Array.isArray(p.candidates) ? p.candidates.length : 0} candidate(s)</>;
    case 'PublishApp':
      return (
        <>
          {str(p.name)}@{str(p.version)}, fee <Amount v={str(p.licenseFeePerHour)} />
          /h
        </>
      );
    case 'PostTask':
      return (
        <>
          {p.app ? `${str(p.app)}@${str(p.version)}` : str(p.image).slice(0, 19)} · {cores(Number(p.cpuMillis))}, {mib(Number(p.memoryMiB))}, {str(p.runtime)} ·
          max <Amount v={str(p.maxPricePerHour)} />
          /h
        </>
      );
    case 'Bid':
      return (
        <>
          on <Hash h={str(p.task)} to={['task', str(p.task)]} /> at <Amount v={str(p.price)} />
          /h
        </>
      );
    case 'StartLease':
    case 'ReportUsage':
    case 'SubmitResult':
    case 'Dispute':
    case 'CancelTask':
    case 'TopUpTask':
    case 'AcceptBid':
      return (
        <>
          task <Hash h={str(p.task)} to={['task', str(p.task)]} />
          {p.lease !== undefined ? ` lease ${str(p.lease)}` : ''}
          {tx.kind === 'ReportUsage' ? ` report ${str(p.seq)}` : ''}
        </>
      );
    case 'RegisterWorker':
    case 'UpdateWorker':
      return (
        <>
          {cores(Number(p.cpuMillis))}, {mib(Number(p.memoryMiB))}
          {Array.isArray(p.runtimes) ? `, ${p.runtimes.join('+')}` : ''}
        </>
      );
    case 'RegisterCandidate':
      return <>as “{str(p.name)}”</>;
    default:
      return null;
  }
}

/** A payload value for the transaction page: addresses linked, long hex shortened. */
export function payloadValue(k: string, v: unknown): ReactNode {
  if (v instanceof Uint8Array) v = toHex(v);
  if (typeof v === 'string' && /^znc1/.test(v)) return <Addr a={v} />;
  if (typeof v === 'string' && k === 'task') return <Hash h={v} to={['task', v]} />;
  if (typeof v === 'string' && /^[0-9a-f]{40,}$/.test(v)) return <Hash h={v} head={16} tail={8} />;
  if (typeof v === 'string' && /amount|price|fee|bond/i.test(k) && /^\d+$/.test(v)) return <Amount v={v} />;
  if (Array.isArray(v))
    return v.length === 0 ? (
      <span className="muted">none</span>
    ) : (
      <span className="list">
        {v.map((x, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a payload's list is positional and its items may repeat.
          <span key={i}>{payloadValue(k, x)}</span>
        ))}
      </span>
    );
  if (v && typeof v === 'object') return <code>{JSON.stringify(v)}</code>;
  if (v === '') return <span className="muted">—</span>;
  return <span>{String(v)}</span>;
}
