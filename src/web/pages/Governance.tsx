import { useEffect, useState, type ReactNode } from 'react';
import { Field, Form } from '../components/fields.tsx';
import { pct, TallyBar } from '../components/TallyBar.tsx';
import { TxState } from '../components/TxState.tsx';
import { Addr, Amount, Badge, Card, Empty, Hash, KV, Link, Loaded, Stat, Table } from '../components/ui.tsx';
import { client } from '../data/client.ts';
import { useFeed, useGovSeq, useHeight, type LiveGovEvent } from '../data/events.ts';
import { clock, parseZnc, znc } from '../data/format.ts';
import { useLoad } from '../data/hooks.ts';
import { Tx, type GovParamAnswer, type GovParamsAnswer, type ProposalAnswer, type ProposalSummary, type VoteOptionName } from '../data/sdk.ts';
import { useSend } from '../data/send.ts';
import { useWallet } from '../data/wallet.ts';

// Governance: the proposals (a deposit opens a vote; staked ZNC decides it, a delegator's weight
// following its proxy unless it votes itself), one proposal with what it asks for, its deposits
// and its count drawn against the quorum, threshold and veto lines, votes and deposits from the
// wallet's key, and the governance events of the node's stream. Everything re-reads on every
// block and at once on a governance event.

const TYPE_TEXT: Record<ProposalSummary['type'], string> = {
  text: 'text',
  'param-change': 'parameter change',
  'reserve-spend': 'reserve spend',
  upgrade: 'upgrade',
};

/** A parameter's value in its own unit, as people read it. */
function paramText(spec: GovParamAnswer | undefined, value: string): ReactNode {
  if (value === '') return <span className="muted">—</span>;
  if (spec?.type === 'amount') return <Amount v={value} />;
  if (spec?.type === 'bp') return pct(Number(value));
  return value;
}

/** The heights a proposal's deposit period or vote spans, and what happens next. */
function windowText(p: ProposalSummary, height: number): string {
  if (p.status === 'deposit') return `deposits until height ${p.depositEnd} (${Math.max(0, p.depositEnd - height)} blocks left)`;
  if (p.votingStart === null || p.votingEnd === null) return `deposit period ended at height ${p.depositEnd}`;
  // The vote is counted at the start of votingEnd: the last votes commit at the height before.
  const last = p.votingEnd - 1;
  if (p.status === 'voting') return `votes at heights ${p.votingStart}–${last} (${Math.max(0, last - height + 1)} blocks left), counted at ${p.votingEnd}`;
  return `voted at heights ${p.votingStart}–${last}, counted at ${p.votingEnd}`;
}

/**
 * An event's detail with its numbers in the units people read: the node writes amounts as base
 * units ("deposit 100000000000 base units", "yes 100000000000, … of 160000000000 bonded") and
 * parameter values in their own unit ("market.minWorkerBond = 20000000000").
 */
export function govDetail(e: LiveGovEvent, params: GovParamsAnswer | undefined): string {
  const amount = (n: string): string => `${znc(n)} ZNC`;
  if (e.kind === 'param-changed')
    return e.detail.replace(/([\w.]+) = (\d+)/g, (all, name: string, value: string) => {
      const spec = govParam(params, name);
      if (spec?.type === 'amount') return `${name} = ${amount(value)}`;
      if (spec?.type === 'bp') return `${name} = ${pct(Number(value))}`;
      return all;
    });
  let d = e.detail.replace(/(\d+) of (\d+) base units/g, (_, a: string, b: string) => `${amount(a)} of ${amount(b)}`);
  d = d.replace(/(\d+) base units/g, (_, n: string) => amount(n));
  if (e.kind === 'vote-ended')
    d = d
      .replace(/\b(yes|no|abstain|veto) (\d+)/g, (_, o: string, n: string) => `${o} ${amount(n)}`)
      .replace(/of (\d+) bonded/, (_, n: string) => `of ${amount(n)} bonded`);
  return d;
}

function GovEventLine({ e, params }: { e: LiveGovEvent; params: GovParamsAnswer | undefined }) {
  return (
    <li className="event" data-kind={e.kind}>
      <span className="when">{clock(e.receivedAt)}</span>
      <Badge s={e.outcome ?? e.status} />
      <span className="what">
        <b>{e.kind.replace('-', ' ')}</b> <Link to={['governance', e.proposal]}>#{e.proposal}</Link> {e.title}
        {e.detail ? <span className="detail"> — {govDetail(e, params)}</span> : null}
        <span className="muted">
          {' '}
          at <Link to={['block', e.height, 0]}>#{e.height}</Link>
        </span>
      </span>
    </li>
  );
}

function GovFeed({ proposal, params }: { proposal?: string; params: GovParamsAnswer | undefined }) {
  const feed = useFeed();
  const events = (proposal ? feed.gov.filter((e) => e.proposal === proposal) : feed.gov).slice(0, 30);
  if (events.length === 0) return <Empty>Listening… governance events appear here as blocks commit them.</Empty>;
  return (
    <ul className="events" data-testid="gov-events">
      {events.map((e) => (
        <GovEventLine key={e.seq} e={e} params={params} />
      ))}
    </ul>
  );
}

const govParam = (params: GovParamsAnswer | undefined, name: string): GovParamAnswer | undefined => params?.params.find((x) => x.name === name);

function RulesCard({ params }: { params: GovParamsAnswer }) {
  const v = (name: string): ReactNode => {
    const spec = govParam(params, `governance.${name}`);
    return spec ? paramText(spec, spec.value) : '—';
  };
  return (
    <Card title="Rules in force">
      <KV
        rows={[
          ['Deposit that opens a vote', v('minDeposit')],
          ['Deposit period', <>{v('depositPeriodBlocks')} blocks</>],
          ['Vote', <>{v('votingPeriodBlocks')} blocks</>],
          ['Quorum (of bonded stake)', v('quorumBp')],
          ['Threshold (yes of yes + no + veto, more than)', v('thresholdBp')],
          ['Veto share (of all votes, more than)', v('vetoBp')],
          ['A passed change takes effect', <>{v('executionDelayBlocks')} blocks after the count</>],
          [
            'Upgrade planned',
            params.upgradePlan ? (
              <>
                <b>{params.upgradePlan.name}</b> at height {params.upgradePlan.height} (proposal{' '}
                <Link to={['governance', params.upgradePlan.proposal]}>#{params.upgradePlan.proposal}</Link>)
              </>
            ) : (
              'none'
            ),
          ],
        ]}
      />
      <p className="muted small">
        Weight is bonded stake; unbonding stake does not count. A delegator’s weight follows its proxy’s vote unless it votes itself. {params.params.length}{' '}
        parameters can be changed by vote; <code>zeus gov params</code> lists them with their bounds.
      </p>
    </Card>
  );
}

export function Governance() {
  const height = useHeight();
  const seq = useGovSeq();
  const list = useLoad(() => client.govProposals(), [], { live: true, minMs: 1000 });
  const params = useLoad(() => client.govParams(), [], { live: true, minMs: 3000 });
  // A governance event (a vote opened or counted, a change in force) re-reads at once.
  // biome-ignore lint/correctness/useExhaustiveDependencies: seq is the trigger; the reloads are new functions each render.
  useEffect(() => {
    if (seq === 0) return;
    list.reload();
    params.reload();
  }, [seq]);
  return (
    <>
      <div className="page-head">
        <h1>Governance</h1>
      </div>
      <Loaded l={list} what="Reading the proposals">
        {(d) => (
          <>
            <div className="stats">
              <Stat label="Proposals">{d.proposals.length}</Stat>
              <Stat label="Gathering deposits">{d.proposals.filter((p) => p.status === 'deposit').length}</Stat>
              <Stat label="Voting">{d.proposals.filter((p) => p.status === 'voting').length}</Stat>
              <Stat label="Passed or carried out">{d.proposals.filter((p) => p.status === 'passed' || p.status === 'executed').length}</Stat>
            </div>
            <Card title="Proposals">
              {d.proposals.length === 0 ? (
                <Empty>No proposal yet. Open one with `zeus gov propose` or the SDK (Tx.govPropose).</Empty>
              ) : (
                <Table head={['#', 'Type', 'Title', 'Status', 'Deposited', 'Voting window']} testId="proposals">
                  {d.proposals.map((p) => (
                    <tr key={p.id} data-proposal={p.id}>
                      <td>
                        <Link to={['governance', p.id]}>#{p.id}</Link>
                      </td>
                      <td className="nowrap">{TYPE_TEXT[p.type]}</td>
                      <td>
                        <Link to={['governance', p.id]}>{p.title}</Link>
                      </td>
                      <td>
                        <Badge s={p.status} />
                      </td>
                      <td>
                        <Amount v={p.deposit} />
                      </td>
                      <td className="small">{windowText(p, height || d.height)}</td>
                    </tr>
                  ))}
                </Table>
              )}
            </Card>
          </>
        )}
      </Loaded>
      <div className="two-col">
        <Loaded l={params} what="Reading the governance parameters">
          {(g) => <RulesCard params={g} />}
        </Loaded>
        <Card title="Governance events">
          <GovFeed params={params.data} />
        </Card>
      </div>
    </>
  );
}

/** What the proposal asks for, by type. */
function Asks({ p, params }: { p: ProposalAnswer; params: GovParamsAnswer | undefined }) {
  if (p.type === 'param-change')
    return (
      <Table head={['Parameter', 'Now', 'Proposed']} testId="changes">
        {p.changes.map((c) => {
          const spec = govParam(params, c.name);
          return (
            <tr key={c.name} data-param={c.name}>
              <td>
                <code>{c.name}</code>
                {spec ? <div className="muted small">{spec.about}</div> : null}
              </td>
              <td>{paramText(spec, c.current)}</td>
              <td>
                <b>→ {paramText(spec, c.value)}</b>
              </td>
            </tr>
          );
        })}
      </Table>
    );
  if (p.type === 'reserve-spend')
    return (
      <KV
        rows={[
          ['Pay from the development reserve', <Amount key="a" v={p.amount} />],
          ['To', <Addr key="r" a={p.recipient} />],
          [
            'Reserve multisig',
            p.reserveProposal ? (
              <>
                proposal {p.reserveProposal.id} of <Addr a={p.reserveProposal.multisig} />: {p.reserveProposal.approvals} of {p.reserveProposal.threshold}{' '}
                approvals{p.reserveProposal.executed ? ', paid' : ', not paid yet'}
              </>
            ) : (
              'pays only once the vote passes and the reserve multisig approves'
            ),
          ],
        ]}
      />
    );
  if (p.type === 'upgrade' && p.upgrade)
    return (
      <KV
        rows={[
          ['Upgrade', <b key="n">{p.upgrade.name}</b>],
          ['Every node stops at height', p.upgrade.height],
          ['Software', p.upgrade.info || <span className="muted">—</span>],
        ]}
      />
    );
  return <p className="muted">A text proposal: it asks for the holders’ opinion and changes nothing on chain.</p>;
}

const VOTE_BUTTONS: [VoteOptionName, string][] = [
  ['yes', 'Yes'],
  ['no', 'No'],
  ['abstain', 'Abstain'],
  ['veto', 'No with veto'],
];

function VoteCard({ p, onSent }: { p: ProposalAnswer; onSent: () => void }) {
  const { current } = useWallet();
  const tx = useSend();
  const acc = useLoad(() => (current ? client.account(current.address) : Promise.resolve(undefined)), [current?.address], { live: true, minMs: 1500 });
  const mine = current ? p.tally?.weights?.find((w) => w.voter === current.address) : undefined;
  const ownVote = current ? p.votes.find((v) => v.voter === current.address) : undefined;
  const open = p.status === 'voting';
  const busy = tx.state.phase === 'sending' || tx.state.phase === 'pending';
  const vote = async (option: VoteOptionName): Promise<void> => {
    const done = await tx.send(current, Tx.govVote({ proposal: p.id, option }), `vote “${option}” on proposal #${p.id}`);
    if (done) onSent();
  };
  return (
    <Card title="Vote" id="vote">
      {!current ? (
        <p className="muted">
          Create or import a key on the <Link to={['wallet']}>Wallet page</Link> to vote.
        </p>
      ) : (
        <p data-testid="my-weight">
          Voting as <Addr a={current.address} />; staked {acc.data ? <Amount v={acc.data.staked} /> : '…'}.{' '}
          {mine ? (
            mine.via ? (
              <>
                Your weight <Amount v={mine.weight} /> now follows your proxy <Addr a={mine.via} />, who voted <Badge s={mine.option} />; a vote of your own
                overrides it for your weight.
              </>
            ) : (
              <>
                You voted <Badge s={mine.option} /> with weight <Amount v={mine.weight} />.
              </>
            )
          ) : ownVote ? (
            <>
              You voted <Badge s={ownVote.option} />.
            </>
          ) : acc.data && BigInt(acc.data.staked) === 0n ? (
            <>
              With nothing staked your vote weighs nothing: stake on the <Link to={['wallet']}>Wallet page</Link>.
            </>
          ) : (
            'You have not voted, and no proxy decides for you.'
          )}
        </p>
      )}
      <div className="buttons vote-buttons">
        {VOTE_BUTTONS.map(([o, label]) => (
          <button key={o} type="button" data-vote={o} className={`vote ${o}`} disabled={!current || !open || busy} onClick={() => void vote(o)}>
            {label}
          </button>
        ))}
      </div>
      {!open ? <p className="muted small">{p.status === 'deposit' ? 'The vote opens once the deposits reach the minimum.' : 'The vote is over.'}</p> : null}
      <TxState s={tx.state} />
      <p className="muted small">A later vote replaces an earlier one. Weight is counted when the vote ends, from the stake bonded then.</p>
    </Card>
  );
}

function DepositCard({ p, params, onSent }: { p: ProposalAnswer; params: GovParamsAnswer | undefined; onSent: () => void }) {
  const { current } = useWallet();
  const [amount, setAmount] = useState('');
  const [err, setErr] = useState('');
  const tx = useSend();
  const min = govParam(params, 'governance.minDeposit')?.value;
  const missing = min !== undefined && p.status === 'deposit' ? BigInt(min) - BigInt(p.deposit) : 0n;
  const open = p.status === 'deposit' || p.status === 'voting';
  return (
    <Card title="Deposits">
      {p.deposits.length === 0 ? (
        <Empty>{open ? 'No deposit held.' : 'None held: they were returned, or sent to the rewards pool on a veto.'}</Empty>
      ) : (
        <Table head={['Depositor', 'Amount']} testId="deposits">
          {p.deposits.map((d) => (
            <tr key={d.depositor}>
              <td>
                <Addr a={d.depositor} />
              </td>
              <td>
                <Amount v={d.amount} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      {missing > 0n ? (
        <p>
          <Amount v={missing} /> more opens the vote (minimum <Amount v={min ?? '0'} />
          ).
        </p>
      ) : null}
      {open ? (
        <Form
          className="form deposit-form"
          onSubmit={() => {
            setErr('');
            let value: bigint;
            try {
              value = parseZnc(amount);
              if (value <= 0n) throw new Error('the amount must be more than 0');
            } catch (e) {
              return setErr((e as Error).message);
            }
            void tx.send(current, Tx.govDeposit({ proposal: p.id, amount: value }), `deposit of ${amount} ZNC on proposal #${p.id}`).then((done) => {
              if (done) onSent();
            });
          }}
        >
          <Field
            label="Add a deposit (ZNC)"
            name="deposit"
            mode="decimal"
            value={amount}
            onChange={setAmount}
            placeholder={missing > 0n ? znc(missing) : '100'}
          />
          <div className="buttons">
            <button type="submit" disabled={!current || tx.state.phase === 'sending' || tx.state.phase === 'pending'}>
              Deposit
            </button>
          </div>
          {err ? <p className="error">{err}</p> : null}
          <TxState s={tx.state} />
          <p className="muted small">Deposits come back when the proposal ends, unless it is vetoed (then they go to the rewards pool).</p>
        </Form>
      ) : null}
    </Card>
  );
}

function Weights({ p }: { p: ProposalAnswer }) {
  const { keys } = useWallet();
  const t = p.tally;
  if (!t) return <Empty>The count starts when the vote opens.</Empty>;
  if (!t.weights) return <Empty>The recorded count keeps the sums, not the stakes behind them.</Empty>;
  if (t.weights.length === 0) return <Empty>No staker has a vote yet (neither its own nor its proxy’s).</Empty>;
  const sorted = [...t.weights].sort((a, b) => (BigInt(b.weight) > BigInt(a.weight) ? 1 : BigInt(b.weight) < BigInt(a.weight) ? -1 : 0));
  return (
    <Table head={['Staker', 'Weight', 'Vote', 'How']} testId="weights">
      {sorted.map((w) => (
        <tr key={w.voter} data-voter={w.voter} className={keys.some((k) => k.address === w.voter) ? 'selected' : undefined}>
          <td>
            <Addr a={w.voter} />
          </td>
          <td>
            <Amount v={w.weight} />
          </td>
          <td>
            <Badge s={w.option} />
          </td>
          <td className="how">
            {w.via ? (
              <>
                following proxy <Addr a={w.via} />
              </>
            ) : (
              'voted itself'
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function Proposal({ id }: { id: string }) {
  const height = useHeight();
  const seq = useGovSeq(id);
  const l = useLoad(() => client.govProposal(id), [id], { live: true, minMs: 500 });
  const params = useLoad(() => client.govParams(), [], { live: true, minMs: 3000 });
  // biome-ignore lint/correctness/useExhaustiveDependencies: seq is the trigger; the reloads are new functions each render.
  useEffect(() => {
    if (seq === 0) return;
    l.reload();
    params.reload();
  }, [seq]);
  return (
    <>
      <div className="page-head">
        <h1>
          <Link to={['governance']}>Governance</Link> · proposal #{id}
        </h1>
      </div>
      <Loaded l={l} what="Reading the proposal">
        {(p) => (
          <>
            <Card
              title={
                <>
                  <span data-testid="proposal-title">{p.title}</span> <Badge s={p.status} />
                </>
              }
              actions={<span className="muted">{TYPE_TEXT[p.type]}</span>}
            >
              {p.description ? <p className="description">{p.description}</p> : null}
              <KV
                rows={[
                  ['Proposer', <Addr key="p" a={p.proposer} />],
                  ['Submitted', <Link key="s" to={['tx', p.tx]}>{`height ${p.submitHeight}`}</Link>],
                  ['Window', windowText(p, height || p.height)],
                  // The total deposited: the proposal keeps it after the deposits went back (or to the pool); the Deposits card shows what is held.
                  ['Deposited', <Amount key="d" v={p.deposit} />],
                  ...(p.executeAt !== null ? ([['Takes effect at height', p.executeAt]] as [ReactNode, ReactNode][]) : []),
                  ...(p.note ? ([['Note', p.note]] as [ReactNode, ReactNode][]) : []),
                ]}
              />
              <h3>What it asks for</h3>
              <Asks p={p} params={params.data} />
            </Card>
            <div className="two-col">
              <Card title={p.tally?.final ? 'Count' : 'Live count'}>
                {p.tally ? (
                  <TallyBar t={p.tally} />
                ) : (
                  <Empty>{p.status === 'expired' ? 'The deposits fell short: the vote never opened.' : 'The count starts when the vote opens.'}</Empty>
                )}
              </Card>
              <VoteCard p={p} onSent={l.reload} />
            </div>
            <div className="two-col">
              <Card title="Who weighs what">
                <Weights p={p} />
              </Card>
              <Card title="Votes cast">
                {p.votes.length === 0 ? (
                  <Empty>No vote yet.</Empty>
                ) : (
                  <Table head={['Voter', 'Vote']} testId="votes">
                    {p.votes.map((v) => (
                      <tr key={v.voter} data-voter={v.voter}>
                        <td>
                          <Addr a={v.voter} />
                        </td>
                        <td>
                          <Badge s={v.option} />
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
              </Card>
            </div>
            <div className="two-col">
              <DepositCard p={p} params={params.data} onSent={l.reload} />
              <Card title="Events of this proposal">
                <GovFeed proposal={id} params={params.data} />
              </Card>
            </div>
            <p className="muted small">
              Proposed by transaction <Hash h={p.tx} to={['tx', p.tx]} />.
            </p>
          </>
        )}
      </Loaded>
    </>
  );
}
