import { useState } from 'react';
import { TxState } from '../components/TxState.tsx';
import { Addr, Amount, Badge, Card, Hash, Loaded, Stat, Table, Empty } from '../components/ui.tsx';
import { useLoad } from '../data/hooks.ts';
import { client } from '../data/client.ts';
import { Tx, type BookkeepersAnswer } from '../data/sdk.ts';
import { useSend } from '../data/send.ts';
import { useWallet } from '../data/wallet.ts';

// The bookkeepers: who is in the set and why (votes weighted by stake), how each has done
// (blocks proposed, slots missed in a row and in all, rewards this epoch), who is jailed or was
// slashed on evidence of double signing; the votes; and a vote from the wallet's key.

function standing(c: BookkeepersAnswer['candidates'][number], height: number): string {
  if (c.slashed) return 'slashed';
  if (c.jailedUntil !== null && c.jailedUntil > height) return 'jailed';
  return c.inSet ? 'in set' : 'candidate';
}

function VoteForm({ b }: { b: BookkeepersAnswer }) {
  const { current } = useWallet();
  const [picked, setPicked] = useState<string[]>([]);
  const tx = useSend();
  const mine = b.votes.find((v) => v.voter === current?.address);
  return (
    <Card title="Vote" id="vote">
      <p className="muted">
        Votes weigh what the voter has staked; the top {b.seats} candidates by weight form the set at the next election (height {b.nextElection}).
        {current ? (
          <>
            {' '}
            Voting as <Addr a={current.address} />
            {mine ? `; your vote now: ${mine.candidates.length} candidate(s), weight ` : '.'}
            {mine ? <Amount v={mine.staked} /> : null}
          </>
        ) : (
          ' Create a key on the Wallet page to vote.'
        )}
      </p>
      <div className="checks">
        {b.candidates.map((c) => (
          <label key={c.address} className="check">
            <input
              type="checkbox"
              checked={picked.includes(c.address)}
              onChange={(e) => setPicked(e.target.checked ? [...picked, c.address] : picked.filter((x) => x !== c.address))}
            />
            {c.name || c.address.slice(0, 12)}
          </label>
        ))}
      </div>
      <div className="buttons">
        <button
          type="button"
          disabled={!current || picked.length === 0}
          onClick={() => void tx.send(current, Tx.voteBookkeepers(picked), `vote for ${picked.length} candidate(s)`)}
        >
          Vote for {picked.length || 'the chosen'} candidate{picked.length === 1 ? '' : 's'}
        </button>
      </div>
      <TxState s={tx.state} />
    </Card>
  );
}

export function Bookkeepers() {
  const l = useLoad(() => client.bookkeepers(), [], { live: true, minMs: 1500 });
  return (
    <>
      <div className="page-head">
        <h1>Bookkeepers</h1>
      </div>
      <Loaded l={l} what="Reading the bookkeepers">
        {(b) => (
          <>
            <div className="stats">
              <Stat label="Seats">{b.seats}</Stat>
              <Stat label="In the set">{b.set.length}</Stat>
              <Stat label="Candidates">{b.candidates.length}</Stat>
              <Stat label="Epoch">{b.epochLength} blocks</Stat>
              <Stat label="Next election">height {b.nextElection}</Stat>
              <Stat label="Jailed">{b.candidates.filter((c) => c.jailedUntil !== null && c.jailedUntil > b.height).length}</Stat>
              <Stat label="Slashed (evidence)">{b.candidates.filter((c) => c.slashed).length}</Stat>
            </div>
            <Card title="Candidates and the set">
              <Table
                head={[
                  'Name',
                  'Address',
                  'Standing',
                  'Weight (votes)',
                  'Own stake',
                  'Proposed',
                  'Missed in a row',
                  'Missed in all',
                  'Earned this epoch',
                  'Jailed until',
                ]}
              >
                {b.candidates.map((c) => (
                  <tr key={c.address} data-candidate={c.name}>
                    <td>
                      <b>{c.name || '—'}</b>
                    </td>
                    <td>
                      <Addr a={c.address} />
                    </td>
                    <td>
                      <Badge
                        s={standing(c, b.height)}
                        title={c.slashed ? 'evidence of double signing was submitted: it lost its seat and part of its stake' : undefined}
                      />
                    </td>
                    <td>
                      <Amount v={c.weight} />
                    </td>
                    <td>
                      <Amount v={c.staked} />
                    </td>
                    <td>{c.proposed}</td>
                    <td className={c.missedInARow > 0 ? 'warn' : undefined}>{c.missedInARow}</td>
                    <td>{c.missedTotal}</td>
                    <td>
                      <Amount v={c.earned} />
                    </td>
                    <td>{c.jailedUntil !== null && c.jailedUntil > b.height ? `height ${c.jailedUntil}` : '—'}</td>
                  </tr>
                ))}
              </Table>
              <p className="muted small">
                A bookkeeper that misses 10 proposals in a row is jailed for a day of blocks; two conflicting signatures at one height are evidence anyone can
                submit, and the offender is slashed and loses its seat.
              </p>
            </Card>
            <div className="two-col">
              <Card title={`Set deciding height ${b.height + 1}`}>
                <ol className="keys">
                  {b.set.map((k) => {
                    const c = b.candidates.find((x) => x.publicKey === k);
                    return (
                      <li key={k}>
                        <b>{c?.name ?? 'genesis bookkeeper'}</b> <Hash h={k} head={10} tail={6} />
                      </li>
                    );
                  })}
                </ol>
                {b.scheduled.map((s) => (
                  <p key={s.fromHeight} className="muted">
                    From height {s.fromHeight}: {s.keys.length} keys elected.
                  </p>
                ))}
              </Card>
              <Card title="Votes">
                {b.votes.length === 0 ? (
                  <Empty>No votes cast yet.</Empty>
                ) : (
                  <Table head={['Voter', 'For', 'Proxy', 'Weight']} testId="votes">
                    {b.votes.map((v) => (
                      <tr key={v.voter}>
                        <td>
                          <Addr a={v.voter} />
                        </td>
                        <td>{v.candidates.map((a) => b.candidates.find((c) => c.address === a)?.name || a.slice(0, 10)).join(', ') || '—'}</td>
                        <td>{v.proxy ? <Addr a={v.proxy} /> : '—'}</td>
                        <td>
                          <Amount v={v.staked} />
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
              </Card>
            </div>
            <VoteForm b={b} />
          </>
        )}
      </Loaded>
    </>
  );
}
