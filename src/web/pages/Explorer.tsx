import { useState } from 'react';
import { Card, Hash, Link, Loaded, Stat, Table } from '../components/ui.tsx';
import { useFeed } from '../data/events.ts';
import { ago, CHAIN_NAMES, short, znc } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { go } from '../router.ts';

// The explorer's front page: the ten chains side by side (a row per height, a column per chain,
// the number of transactions each segment holds), the latest blocks, and a search box.

const ROWS = 16;

function Search() {
  const [q, setQ] = useState('');
  const [msg, setMsg] = useState('');
  const submit = async (): Promise<void> => {
    const s = q.trim();
    setMsg('');
    if (/^\d+$/.test(s)) return go('block', s);
    if (/^znc1[02-9ac-hj-np-z]{20,}$/.test(s)) return go('account', s);
    if (/^[0-9a-f]{64}$/i.test(s)) {
      const h = s.toLowerCase();
      const found = await client.tx(h).then(
        () => true,
        () => false,
      );
      if (found) return go('tx', h);
      const task = await client.task(h).then(
        () => true,
        () => false,
      );
      if (task) return go('task', h);
      setMsg(`no transaction or task ${short(h)} is known to this node`);
      return;
    }
    setMsg('search by block height, transaction hash, task id or znc1… address');
  };
  return (
    <form
      className="search"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <input value={q} onChange={(e) => setQ(e.target.value)} placeholder="Height, tx hash, task id or znc1… address" aria-label="Search the chain" />
      <button type="submit">Search</button>
      {msg ? <p className="hint">{msg}</p> : null}
    </form>
  );
}

export function Explorer() {
  const feed = useFeed();
  const status = useLoad(() => client.status(), [], { live: true, minMs: 1000 });
  const blocks = feed.blocks.slice(-ROWS).reverse();
  return (
    <>
      <div className="page-head">
        <h1>Explorer</h1>
        <Search />
      </div>
      <Loaded l={status} what="Reading the node's status">
        {(s) => (
          <div className="stats">
            <Stat label="Chain">{s.chainId}</Stat>
            <Stat label="Height">
              <Link to={['block', s.height]}>{s.height.toLocaleString()}</Link>
            </Stat>
            <Stat label="Last block">{s.time ? ago(s.time) : '—'}</Stat>
            <Stat label="Mempool" hint="transactions waiting for a block">
              {s.mempool}
            </Stat>
            <Stat label="Receipts in flight" hint="cross-chain transfers debited on one inner chain, to be credited on another at the next height">
              {s.receiptsInFlight}
            </Stat>
            <Stat label="Consensus">{'mode' in s.consensus ? 'solo bookkeeper' : `${s.consensus.validators} bookkeepers, round ${s.consensus.round}`}</Stat>
            {typeof s.supply.total === 'string' ? <Stat label="Total supply, ZNC">{znc(s.supply.total)}</Stat> : null}
          </div>
        )}
      </Loaded>

      <Card title="Main chain and the nine inner chains" actions={<span className="muted">transactions per segment, live</span>}>
        <div className="table-wrap">
          <table className="chains" data-testid="chains-grid">
            <thead>
              <tr>
                <th>Height</th>
                {CHAIN_NAMES.map((n, i) => (
                  <th key={n} className={i === 0 ? 'main-col' : undefined}>
                    {i === 0 ? 'Main' : `Inner ${i}`}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {blocks.map((b) => (
                <tr key={b.height}>
                  <td>
                    <Link to={['block', b.height]}>{b.height}</Link>
                  </td>
                  {b.txCounts.map((n, c) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the index is the chain's number.
                    <td key={c} className={`${c === 0 ? 'main-col ' : ''}${n ? 'has-tx' : 'no-tx'}`}>
                      <Link to={['block', b.height, c]}>{n || '·'}</Link>
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {blocks.length === 0 ? <p className="muted">Waiting for the first block from the event stream…</p> : null}
        {status.data ? (
          <details className="roots">
            <summary>State roots at height {status.data.height}</summary>
            <Table head={['Chain', 'State root']}>
              {status.data.chains.map((c) => (
                <tr key={c.chain}>
                  <td>{CHAIN_NAMES[c.chain]}</td>
                  <td>
                    <Hash h={c.stateRoot} head={16} tail={8} />
                  </td>
                </tr>
              ))}
            </Table>
          </details>
        ) : null}
      </Card>

      <Card title="Latest blocks">
        <Table head={['Height', 'Hash', 'Time', 'Transactions', 'Round']}>
          {blocks.slice(0, 10).map((b) => (
            <tr key={b.height}>
              <td>
                <Link to={['block', b.height]}>{b.height}</Link>
              </td>
              <td>
                <Hash h={b.hash} to={['block', b.height]} />
              </td>
              <td>{ago(b.time)}</td>
              <td>{b.txCounts.reduce((a, x) => a + x, 0)}</td>
              <td>{Number.isNaN(b.round) ? '—' : b.round}</td>
            </tr>
          ))}
        </Table>
      </Card>
      {status.data && !('mode' in status.data.consensus) ? (
        <p className="muted small">
          This node is {status.data.consensus.self >= 0 ? `bookkeeper #${status.data.consensus.self + 1} of the set` : 'a follower'};{' '}
          {status.data.consensus.peers.filter((p) => p.connected).length} peers connected.
        </p>
      ) : null}
    </>
  );
}
