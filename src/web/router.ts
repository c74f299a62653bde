import { useSyncExternalStore } from 'react';

// Hash routing (#/explorer, #/task/ID…): the node serves only `/`, and none of the API's own
// paths (/status, /v2/…, /ddn/…, /ws) can be mistaken for a page of the console.

function subscribe(l: () => void): () => void {
  window.addEventListener('hashchange', l);
  return () => window.removeEventListener('hashchange', l);
}

/** The route's parts: "#/task/ab12" → ["task", "ab12"]; the default page is the explorer. */
export function useRoute(): string[] {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  const parts = hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  return parts.length ? parts : ['explorer'];
}

export const href = (...parts: (string | number)[]): string => `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;

export function go(...parts: (string | number)[]): void {
  location.hash = href(...parts);
}
