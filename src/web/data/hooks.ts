import { useCallback, useEffect, useRef, useState } from 'react';
import { useHeight } from './events.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `fn()` and loads it again when `deps` change, and (with `live`) after each committed
 * block — at most once per `minMs`, never two at once. Old data stays on screen while reloading.
 */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], opts: { live?: boolean; minMs?: number } = {}): Loaded<T> {
  const height = useHeight();
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const busy = useRef(false);
  const last = useRef(0);
  const again = useRef(false);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const key = JSON.stringify(deps);
  const keyRef = useRef(key);

  const run = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    last.current = Date.now();
    const forKey = keyRef.current;
    setState((s) => ({ ...s, loading: true }));
    fnRef
      .current()
      .then(
        (data) => forKey === keyRef.current && setState({ data, loading: false }),
        (error: unknown) =>
          forKey === keyRef.current && setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)), loading: false })),
      )
      .finally(() => {
        busy.current = false;
        if (again.current) {
          again.current = false;
          run();
        }
      });
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick is the trigger: reload() bumps it to run the load again with the same deps.
  useEffect(() => {
    if (keyRef.current !== key) {
      keyRef.current = key;
      setState({ loading: true });
    }
    run();
  }, [key, tick, run]);

  useEffect(() => {
    if (!opts.live || height === 0) return;
    const wait = (opts.minMs ?? 1000) - (Date.now() - last.current);
    if (wait <= 0) {
      run();
      return;
    }
    const t = setTimeout(run, wait);
    return () => clearTimeout(t);
  }, [height, opts.live, opts.minMs, run]);

  return { data: state.data, error: state.error, loading: state.loading, reload: () => setTick((x) => x + 1) };
}

/** A value kept in localStorage under `key` (JSON). */
export function useStored<T>(key: string, initial: T): [T, (v: T) => void] {
  const [v, setV] = useState<T>(() => {
    try {
      const s = localStorage.getItem(key);
      return s === null ? initial : (JSON.parse(s) as T);
    } catch {
      return initial;
    }
  });
  const set = useCallback(
    (x: T) => {
      setV(x);
      localStorage.setItem(key, JSON.stringify(x));
    },
    [key],
  );
  return [v, set];
}
