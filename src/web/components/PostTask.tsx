import { useMemo, useState } from 'react';
import { parseZnc } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { fromHex, quoteRequestOf, taskEscrow, taskIdFor, toHex, Tx, ZNC, type PostTaskSpec, type QuoteAnswer } from '../data/sdk.ts';
import { useSend } from '../data/send.ts';
import { rememberTask, useWallet } from '../data/wallet.ts';
import { Choice, Field, Form } from './fields.tsx';
import { TxState } from './TxState.tsx';
import { Addr, Amount, Badge, Card, Empty, Hash, Link, Table } from './ui.tsx';

// Posting a task from the browser: pick a published app, say what one replica needs and the most
// it pays per hour, ask for a quote (the ledger's own matcher says which workers fit, at what
// asking price, and every reason the others do not), then post: the wallet's key signs PostTask
// and the worst case (price × hours × replicas, plus the license fee) moves into escrow.

interface TaskForm {
  app: string;
  runtime: string;
  kind: 'batch' | 'service';
  cpu: string;
  memory: string;
  maxPrice: string;
  maxHours: string;
  bidWindow: string;
  replicas: string;
  port: string;
}

const DEFAULTS: TaskForm = {
  app: '',
  runtime: 'docker',
  kind: 'batch',
  cpu: '0.5',
  memory: '64',
  maxPrice: '1',
  maxHours: '1',
  bidWindow: '6',
  replicas: '1',
  port: '',
};

function whole(v: string, what: string, max = 0xffff_ffff): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) > max) throw new Error(`${what} must be a whole number`);
  return Number(v);
}

function parseCores(v: string): number {
  const m = /^(\d+)(?:\.(\d{1,3}))?$/.exec(v.trim());
  if (!m) throw new Error('cores: a number like 2 or 0.5 (at most 3 decimals)');
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
}

/** The task the form describes, as the SDK's PostTask spec (the quote takes its needs and price). */
function specOf(f: TaskForm, app: { name: string; version: string } | undefined): PostTaskSpec {
  return {
    app: app?.name,
    version: app?.version,
    runtime: f.runtime === 'wasm' ? 'wasm' : 'docker',
    kind: f.kind,
    cpuMillis: parseCores(f.cpu),
    memoryMiB: whole(f.memory, 'memory (MiB)'),
    maxPricePerHour: parseZnc(f.maxPrice),
    maxHours: whole(f.maxHours, 'max hours'),
    replicas: whole(f.replicas, 'replicas', 64),
    ports: f.kind === 'service' && f.port.trim() ? [whole(f.port, 'port', 65535)] : [],
    bidWindowBlocks: whole(f.bidWindow, 'bid window (blocks)'),
  };
}

function QuoteView({ q }: { q: QuoteAnswer }) {
  return (
    <div className="quote" data-testid="quote">
      <p>
        <b>{q.candidates.length}</b> of {q.workers} registered worker{q.workers === 1 ? '' : 's'} could serve it{q.candidates.length ? ', best first' : ''}.
      </p>
      {q.candidates.length ? (
        <Table head={['Worker', 'Asking price/h', 'Rating']}>
          {q.candidates.map((c) => (
            <tr key={c.worker}>
              <td>
                <Addr a={c.worker} />
              </td>
              <td>
                <Amount v={c.ask} />
              </td>
              <td>{c.rating}</td>
            </tr>
          ))}
        </Table>
      ) : null}
      {q.refused.length ? (
        <>
          <h3>Why the others do not fit</h3>
          <Table head={['Worker', 'Asking price/h', 'Reasons']}>
            {q.refused.map((r) => (
              <tr key={r.worker}>
                <td>
                  <Addr a={r.worker} />
                </td>
                <td>
                  <Amount v={r.ask} />
                </td>
                <td>
                  <ul className="reasons">
                    {r.reasons.map((x) => (
                      <li key={x.code}>
                        <Badge s={x.code} /> {x.message}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </Table>
        </>
      ) : null}
    </div>
  );
}

export function PostTask() {
  const { current } = useWallet();
  const apps = useLoad(() => client.apps(), [], { live: true, minMs: 5000 });
  const [f, setF] = useState<TaskForm>(DEFAULTS);
  const [quote, setQuote] = useState<QuoteAnswer | undefined>();
  const [formError, setFormError] = useState('');
  const [posted, setPosted] = useState<string | undefined>();
  const tx = useSend();
  const versions = useMemo(
    () => (apps.data?.apps ?? []).flatMap((a) => a.versions.filter((v) => !v.deprecated).map((v) => ({ ...v, key: `${v.name}@${v.version}` }))),
    [apps.data],
  );
  const app = versions.find((v) => v.key === f.app) ?? versions[versions.length - 1];
  const set = (k: keyof TaskForm) => (v: string) => {
    setF({ ...f, [k]: v });
    setQuote(undefined);
  };

  let worstCase: bigint | undefined;
  try {
    worstCase = taskEscrow({
      maxPricePerHour: parseZnc(f.maxPrice),
      maxHours: whole(f.maxHours, 'max hours'),
      replicas: whole(f.replicas, 'replicas'),
      redundancy: 1,
      licenseFeePerHour: app ? BigInt(app.licenseFeePerHour) : 0n,
      feeToken: app?.feeToken ?? ZNC,
    }).escrow;
  } catch {
    worstCase = undefined;
  }

  const askQuote = async (): Promise<void> => {
    setFormError('');
    try {
      setQuote(await client.quote(quoteRequestOf(specOf(f, app))));
    } catch (e) {
      setFormError((e as Error).message);
    }
  };

  const post = async (): Promise<void> => {
    setFormError('');
    setPosted(undefined);
    if (!app) return setFormError('no app is published yet: publish one with `zeus app publish`');
    let intent;
    try {
      intent = Tx.postTask(specOf(f, app));
    } catch (e) {
      return setFormError((e as Error).message);
    }
    const done = await tx.send(current, intent, `task of ${app.name}@${app.version}`);
    if (done && current) {
      const id = toHex(taskIdFor(fromHex(done.hash), done.chain));
      rememberTask({ id, tx: done.hash, owner: current.address, app: `${app.name}@${app.version}`, postedAt: done.height });
      setPosted(id);
    }
  };

  return (
    <Card title="Post a task" id="post-task">
      {versions.length === 0 && apps.data ? <Empty>No app is published on this chain yet (`zeus app publish IMAGE --name … --version …`).</Empty> : null}
      <Form className="form grid" onSubmit={() => void post()}>
        <Choice label="App" name="app" value={app?.key ?? ''} onChange={set('app')} options={versions.map((v) => v.key)} />
        <Choice label="Runtime" name="runtime" value={f.runtime} onChange={set('runtime')} options={['docker', 'wasm']} />
        <Choice label="Kind" name="kind" value={f.kind} onChange={set('kind')} options={['batch', 'service']} />
        <Field label="CPU cores" name="cpu" mode="decimal" value={f.cpu} onChange={set('cpu')} />
        <Field label="Memory (MiB)" name="memory" mode="numeric" value={f.memory} onChange={set('memory')} />
        <Field label="Max price (ZNC per hour)" name="maxPrice" mode="decimal" value={f.maxPrice} onChange={set('maxPrice')} />
        <Field label="Max hours" name="maxHours" mode="numeric" value={f.maxHours} onChange={set('maxHours')} />
        <Field label="Bid window (blocks)" name="bidWindow" mode="numeric" value={f.bidWindow} onChange={set('bidWindow')} />
        <Field label="Replicas" name="replicas" mode="numeric" value={f.replicas} onChange={set('replicas')} />
        {f.kind === 'service' ? <Field label="Port" name="port" mode="numeric" value={f.port} onChange={set('port')} placeholder="8080" /> : null}
        <div className="form-foot">
          <p className="muted">
            {app ? (
              <>
                {app.key}: image <code>{app.digest.slice(0, 19)}…</code>, license fee <Amount v={app.licenseFeePerHour} unit={app.feeToken} />
                /h.{' '}
              </>
            ) : null}
            {worstCase !== undefined ? (
              <>
                Escrow (worst case): <Amount v={worstCase} />, from {current ? <Addr a={current.address} /> : 'your key'}. What is not spent comes back.
              </>
            ) : null}
          </p>
          <div className="buttons">
            <button type="button" className="secondary" onClick={() => void askQuote()}>
              Get a quote
            </button>
            <button type="submit" disabled={!current || tx.state.phase === 'sending' || tx.state.phase === 'pending'}>
              {current ? `Post as ${current.name}` : 'Create a key to post'}
            </button>
          </div>
        </div>
      </Form>
      {formError ? (
        <p className="error" role="alert">
          {formError}
        </p>
      ) : null}
      {quote ? <QuoteView q={quote} /> : null}
      <TxState s={tx.state} />
      {posted ? (
        <p className="ok" data-testid="posted-task">
          Task <Hash h={posted} to={['task', posted]} /> posted. <Link to={['task', posted]}>Follow it →</Link>
        </p>
      ) : null}
    </Card>
  );
}
