import { formatUnitsGrouped, parseAmount } from './sdk.ts';

// How the console writes amounts, sizes, heights and times. Amounts are bigint base units
// everywhere; only the SDK's formatUnits / formatUnitsGrouped turn them into text (ZNC has 8 decimals).

export const ZNC_DECIMALS = 8;

/** "1,234.5" from base units: thousands grouped in the whole part, no float anywhere. */
export function znc(base: bigint | string | number, decimals = ZNC_DECIMALS): string {
  return formatUnitsGrouped(BigInt(base), decimals);
}

/** Parses what a user typed as ZNC into base units; throws with a reason the form shows. */
export function parseZnc(text: string): bigint {
  return parseAmount(text.replace(/,/g, ''), ZNC_DECIMALS);
}

/** Base units as a JS number of whole ZNC, for chart scales only (never for money arithmetic). */
export function zncForChart(base: bigint | string): number {
  const v = BigInt(base);
  return Number(v / 10n ** 4n) / 1e4;
}

export const short = (s: string, head = 10, tail = 6): string => (s.length <= head + tail + 1 ? s : `${s.slice(0, head)}…${s.slice(-tail)}`);

export const cores = (millis: number): string => `${millis / 1000} ${millis === 1000 ? 'core' : 'cores'}`;

/** MiB as people read them: 64 MiB, 16 GiB, 23.5 GiB, 2 TiB. */
export function mib(n: number): string {
  const one = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  if (n >= 1024 * 1024) return `${one(n / 1024 / 1024)} TiB`;
  if (n >= 1024) return `${one(n / 1024)} GiB`;
  return `${n} MiB`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function ago(ms: number, now = Date.now()): string {
  const d = Math.max(0, now - ms);
  if (d < 1500) return 'just now';
  if (d < 60_000) return `${Math.round(d / 1000)} s ago`;
  if (d < 3_600_000) return `${Math.round(d / 60_000)} min ago`;
  if (d < 86_400_000) return `${Math.round(d / 3_600_000)} h ago`;
  return new Date(ms).toLocaleDateString();
}

export const clock = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour12: false });

export const CHAIN_NAMES = ['main', ...Array.from({ length: 9 }, (_, i) => `inner ${i + 1}`)];
export const chainName = (c: number): string => CHAIN_NAMES[c] ?? `chain ${c}`;
