import { formatUnits } from '../ledger/index.client.ts';

// Amounts as people read them. Money is bigint base units everywhere; these only write it.

/**
 * Base units as a decimal with thousands separators in the whole part only ("10,000,000.00000068"):
 * grouping is done on the whole part alone, never on the formatted string, whose fraction would
 * otherwise be split as if it were more whole digits.
 */
export function formatUnitsGrouped(amount: bigint | string, decimals: number, separator = ','): string {
  const s = formatUnits(amount, decimals);
  const neg = s.startsWith('-');
  const [whole, frac] = (neg ? s.slice(1) : s).split('.');
  return `${neg ? '-' : ''}${groupThousands(whole, separator)}${frac === undefined ? '' : `.${frac}`}`;
}

/** "10000000" → "10,000,000": digits only (a whole number), grouped by three from the right. */
export function groupThousands(digits: string, separator = ','): string {
  if (!/^\d+$/.test(digits)) throw new Error(`"${digits}" is not a whole number`);
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) out = `${digits.slice(Math.max(0, end - 3), end)}${out === '' ? '' : separator}${out}`;
  return out;
}
