import { useEffect, useState } from 'react';
import { TasksTable } from '../components/marketTables.tsx';
import { Field, Form } from '../components/fields.tsx';
import { TxState } from '../components/TxState.tsx';
import { BalanceStats } from '../components/BalanceStats.tsx';
import { Addr, Amount, Card, Copy, Empty, Link, Loaded } from '../components/ui.tsx';
import { balanceChanges, noteBalance } from '../data/balances.ts';
import { clock, parseZnc } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { isAddress, Tx } from '../data/sdk.ts';
import { useSend } from '../data/send.ts';
import { createKey, importKey, removeKey, selectKey, useWallet, type WalletKey } from '../data/wallet.ts';

// The wallet: keys made or imported here stay in this browser (localStorage) and sign here;
// the node only ever sees signed transactions. Balance (live, with the changes as they land),
// transfer, stake, and the tasks this key posted.

function KeyForms() {
  const [name, setName] = useState('');
  const [seed, setSeed] = useState('');
  const [mode, setMode] = useState<'create' | 'import'>('create');
  const [err, setErr] = useState('');
  const submit = (): void => {
    setErr('');
    try {
      if (mode === 'create') createKey(name || `key${Date.now() % 10000}`);
      else importKey(name || 'imported', seed);
      setName('');
      setSeed('');
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  return (
    <Form onSubmit={submit}>
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={mode === 'create'} className={mode === 'create' ? 'on' : ''} onClick={() => setMode('create')}>
          Create a key
        </button>
        <button type="button" role="tab" aria-selected={mode === 'import'} className={mode === 'import' ? 'on' : ''} onClick={() => setMode('import')}>
          Import a key
        </button>
      </div>
      <Field label="Name" name="keyName" value={name} onChange={setName} placeholder="e.g. savings" />
      {mode === 'import' ? <Field label="Seed (64 hex digits)" name="seed" value={seed} onChange={setSeed} /> : null}
      <div className="buttons">
        <button type="submit">{mode === 'create' ? 'Create key' : 'Import key'}</button>
      </div>
      {err ? (
        <p className="error" role="alert">
          {err}
        </p>
      ) : null}
      <p className="muted small">
        The key is made by this browser and kept in its storage for this site; it is never sent to the node. Export it to keep a copy.
      </p>
    </Form>
  );
}

function Transfer({ k }: { k: WalletKey }) {
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [err, setErr] = useState('');
  const tx = useSend();
  const submit = (): void => {
    setErr('');
    let intent;
    try {
      if (!isAddress(to.trim())) throw new Error(`"${to.trim()}" is not a znc1… address`);
      const value = parseZnc(amount);
      if (value <= 0n) throw new Error('the amount must be more than 0');
      intent = Tx.transfer({ to: to.trim(), amount: value });
    } catch (e) {
      return setErr((e as Error).message);
    }
    void tx.send(k, intent, `transfer of ${amount} ZNC`);
  };
  return (
    <Form onSubmit={submit}>
      <Field label="To" name="to" value={to} onChange={setTo} placeholder="znc1…" />
      <Field label="Amount (ZNC)" name="amount" mode="decimal" value={amount} onChange={setAmount} placeholder="12.5" />
      <div className="buttons">
        <button type="submit" disabled={tx.state.phase === 'sending' || tx.state.phase === 'pending'}>
          Send
        </button>
      </div>
      {err ? <p className="error">{err}</p> : null}
      <TxState s={tx.state} />
    </Form>
  );
}

function StakeForm({ k }: { k: WalletKey }) {
  const [amount, setAmount] = useState('');
  const [err, setErr] = useState('');
  const tx = useSend();
  return (
    <Form
      onSubmit={() => {
        setErr('');
        try {
          void tx.send(k, Tx.stake(parseZnc(amount)), `stake of ${amount} ZNC`);
        } catch (x) {
          setErr((x as Error).message);
        }
      }}
    >
      <Field label="Stake (ZNC)" name="stake" mode="decimal" value={amount} onChange={setAmount} placeholder="100" />
      <div className="buttons">
        <button type="submit">Stake</button>
        <Link to={['bookkeepers']} className="button secondary">
          Vote for bookkeepers →
        </Link>
      </div>
      {err ? <p className="error">{err}</p> : null}
      <TxState s={tx.state} />
      <p className="muted small">Staked ZNC weighs your votes for bookkeepers and raises your transaction quota.</p>
    </Form>
  );
}

function KeyView({ k }: { k: WalletKey }) {
  const acc = useLoad(() => client.account(k.address), [k.address], { live: true, minMs: 500 });
  const tasks = useLoad(() => client.tasks({ owner: k.address, limit: 20 }), [k.address], { live: true, minMs: 1500 });
  const [shown, setShown] = useState(false);
  // The changes live outside React (they outlast the page): a change noted after a render must
  // render again, or the list would wait for whatever re-renders next (nothing, on a quiet chain).
  const [seen, setSeen] = useState(() => balanceChanges(k.address));
  useEffect(() => {
    if (acc.data) noteBalance(acc.data.address, BigInt(acc.data.znc.balance));
    setSeen(balanceChanges(k.address));
  }, [acc.data, k.address]);
  return (
    <>
      <Card title={<>Key “{k.name}”</>} actions={<Copy text={k.address} label="Copy address" />}>
        <p className="address-line">
          <code data-testid="wallet-address">{k.address}</code>
        </p>
        <Loaded l={acc} what="Reading the balance">
          {(a) => <BalanceStats a={a} testId="wallet-balance" />}
        </Loaded>
        {BigInt(acc.data?.znc.balance ?? '0') === 0n && acc.data ? (
          <p className="hint">
            This key holds no ZNC yet. Send some to its address (e.g. `zeus transfer --from alice --to {k.address.slice(0, 12)}… --amount 100`); the balance
            shows here as soon as the block commits.
          </p>
        ) : null}
        {seen.length ? (
          <>
            <h3>Balance changes</h3>
            <ul className="changes" data-testid="balance-changes">
              {seen.map((c) => (
                <li key={c.seq}>
                  <span className="when">{clock(c.at)}</span> <Amount v={c.delta} sign /> → <Amount v={c.balance} />
                </li>
              ))}
            </ul>
          </>
        ) : null}
        <div className="buttons">
          <Link to={['account', k.address]} className="button secondary">
            Account page
          </Link>
          <button type="button" className="secondary" onClick={() => setShown(!shown)}>
            {shown ? 'Hide the seed' : 'Export (show the seed)'}
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              if (confirm(`Forget key “${k.name}” in this browser? Without an exported seed its ZNC is lost.`)) removeKey(k.address);
            }}
          >
            Remove
          </button>
        </div>
        {shown ? (
          <p className="seed">
            <code>{k.seed}</code> <Copy text={k.seed} label="Copy seed" />
            <br />
            <small>Whoever has this seed controls the account. Import it elsewhere with “Import a key”.</small>
          </p>
        ) : null}
      </Card>
      <div className="two-col">
        <Card title="Transfer ZNC">
          <Transfer k={k} />
        </Card>
        <Card title="Stake and vote">
          <StakeForm k={k} />
        </Card>
      </div>
      <Card
        title="Tasks posted with this key"
        actions={
          <Link to={['market']} className="button">
            Post a task →
          </Link>
        }
      >
        <Loaded l={tasks}>{(t) => <TasksTable tasks={t.tasks} empty="None yet: post one on the Market page." />}</Loaded>
      </Card>
    </>
  );
}

export function Wallet() {
  const w = useWallet();
  return (
    <>
      <div className="page-head">
        <h1>Wallet</h1>
      </div>
      <div className="two-col wallet-top">
        <Card title="Keys in this browser">
          {w.keys.length === 0 ? (
            <Empty>No key yet: create one, or import a seed.</Empty>
          ) : (
            <ul className="keylist">
              {w.keys.map((k) => (
                <li key={k.address} className={k.address === w.current?.address ? 'on' : ''}>
                  <label>
                    <input type="radio" name="key" checked={k.address === w.current?.address} onChange={() => selectKey(k.address)} />
                    <b>{k.name}</b>
                  </label>
                  <Addr a={k.address} named={false} />
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Add a key">
          <KeyForms />
        </Card>
      </div>
      {w.current ? <KeyView k={w.current} /> : null}
    </>
  );
}
