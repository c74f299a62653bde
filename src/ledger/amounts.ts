/** Parses "12.5" into base units with `decimals` decimals; refuses more precision than the token has. */
export function parseAmount(text: string, decimals: number): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not an amount (digits with an optional decimal point)`);
  const frac = m[2] ?? '';
  if (frac.length > decimals) throw new Error(`"${text}" has more than ${decimals} decimals`);
  return BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
}

/** Formats base units with the token's decimals, without trailing zeros. */
export function formatUnits(amount: bigint | string, decimals: number): string {
  const v = BigInt(amount);
  if (decimals === 0) return v.toString();
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(decimals + 1, '0');
  const frac = s.slice(-decimals).replace(/0+$/, '');
  return `${neg ? '-' : ''}${s.slice(0, -decimals)}${frac ? `.${frac}` : ''}`;
}
