import { useEffect, useState } from 'react';
import { Amount } from './components/ui.tsx';
import { noteBalance } from './data/balances.ts';
import { useFeed } from './data/events.ts';
import { useLoad } from './data/hooks.ts';
import { client } from './data/client.ts';
import { useWallet } from './data/wallet.ts';
import { Account } from './pages/Account.tsx';
import { Apps } from './pages/Apps.tsx';
import { Block } from './pages/Block.tsx';
import { Bookkeepers } from './pages/Bookkeepers.tsx';
import { Charts } from './pages/Charts.tsx';
import { Explorer } from './pages/Explorer.tsx';
import { Governance, Proposal } from './pages/Governance.tsx';
import { Market } from './pages/Market.tsx';
import { Task } from './pages/Task.tsx';
import { Tx } from './pages/Tx.tsx';
import { Wallet } from './pages/Wallet.tsx';
import { Workers } from './pages/Workers.tsx';
import { href, useRoute } from './router.ts';

// The console's frame: the bar with the pages, the chain's height and the stream's state, the
// wallet's key and balance; below it the page the URL's hash names.

const NAV: [string, string][] = [
  ['explorer', 'Explorer'],
  ['market', 'Market'],
  ['workers', 'Workers'],
  ['apps', 'Apps'],
  ['bookkeepers', 'Bookkeepers'],
  ['governance', 'Governance'],
  ['charts', 'Charts'],
  ['wallet', 'Wallet'],
];

/** Which nav entry a route belongs to. */
const SECTION: Record<string, string> = { block: 'explorer', tx: 'explorer', account: 'explorer', task: 'market' };

function Page({ route }: { route: string[] }) {
  const [name, a, b] = route;
  switch (name) {
    case 'explorer':
      return <Explorer />;
    case 'block':
      return <Block key={a} height={Number(a)} chain={b === undefined ? undefined : Number(b)} />;
    case 'tx':
      return <Tx key={a} hash={a.toLowerCase()} />;
    case 'account':
      return <Account key={a} address={a} />;
    case 'market':
      return <Market />;
    case 'task':
      return <Task key={a} id={a.toLowerCase()} />;
    case 'workers':
      return <Workers />;
    case 'apps':
      return <Apps />;
    case 'bookkeepers':
      return <Bookkeepers />;
    case 'governance':
      return a === undefined ? <Governance /> : <Proposal key={a} id={a} />;
    case 'charts':
      return <Charts />;
    case 'wallet':
      return <Wallet />;
    default:
      return (
        <div className="error">
          No page “{name}”. <a href={href('explorer')}>Go to the explorer</a>.
        </div>
      );
  }
}

function WalletChip() {
  const { current } = useWallet();
  const acc = useLoad(() => (current ? client.account(current.address) : Promise.resolve(undefined)), [current?.address], { live: true, minMs: 500 });
  useEffect(() => {
    if (acc.data) noteBalance(acc.data.address, BigInt(acc.data.znc.balance));
  }, [acc.data]);
  if (!current)
    return (
      <a className="chip" href={href('wallet')}>
        No key — create one
      </a>
    );
  return (
    <a className="chip" href={href('wallet')} title={current.address}>
      <b>{current.name}</b> {acc.data ? <Amount v={acc.data.znc.balance} /> : '…'}
    </a>
  );
}

export function App() {
  const route = useRoute();
  const feed = useFeed();
  const status = useLoad(() => client.status(), [], {});
  const [menu, setMenu] = useState(false);
  const section = SECTION[route[0]] ?? route[0];
  // biome-ignore lint/correctness/useExhaustiveDependencies: route.join('/') is the trigger: every navigation, not only a change of section, closes the menu and scrolls to the top.
  useEffect(() => {
    setMenu(false);
    window.scrollTo(0, 0);
    document.title = `${NAV.find(([k]) => k === section)?.[1] ?? 'ZeusNet'} · ZeusNet console`;
  }, [route.join('/'), section]);
  return (
    <>
      <header className="top">
        <div className="bar">
          <a className="brand" href={href('explorer')}>
            <span className="logo" aria-hidden="true">
              Z
            </span>
            ZeusNet
          </a>
          <span className={`live ${feed.state}`} title={feed.state === 'live' ? 'receiving events from the node' : 'reconnecting to the event stream'}>
            <i /> {feed.height ? `#${feed.height.toLocaleString()}` : '…'}
            <span className="chain-id">{status.data?.chainId ?? ''}</span>
          </span>
          <WalletChip />
          <button type="button" className="menu" aria-label="Menu" aria-expanded={menu} onClick={() => setMenu(!menu)}>
            ☰
          </button>
        </div>
        <nav className={menu ? 'open' : ''} aria-label="Pages">
          {NAV.map(([k, label]) => (
            <a key={k} href={href(k)} className={section === k ? 'on' : ''} aria-current={section === k ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {feed.state === 'reconnecting' ? <div className="banner">The event stream dropped; reconnecting… (pages still read the node)</div> : null}
        <Page route={route} />
      </main>
      <footer>
        ZeusNet console · served by {location.host} · keys stay in this browser · <a href="/openapi.json">API</a>
      </footer>
    </>
  );
}
