import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatUnits, parseAmount } from '../ledger/index.client.ts';
import { formatUnitsGrouped, groupThousands } from './amounts.ts';

describe('formatUnitsGrouped', () => {
  it.each([
    [1_000_000_000_000_068n, 8, '10,000,000.00000068'],
    [1_000_000_000_000_000n, 8, '10,000,000'],
    [123_456_789n, 8, '1.23456789'],
    [100_000_000_000n, 8, '1,000'],
    [99_999_999_999n, 8, '999.99999999'],
    [5n, 8, '0.00000005'],
    [0n, 8, '0'],
    [-1_234_567_800_000_000n, 8, '-12,345,678'],
    [1234567n, 0, '1,234,567'],
    [123n, 0, '123'],
    [1_000_000_123_456n, 6, '1,000,000.123456'],
  ])('%s base units with %i decimals → %s', (amount, decimals, text) => {
    expect(formatUnitsGrouped(amount, decimals)).toBe(text);
  });

  it('puts separators only into the whole part, every three digits from the right, and reads back as the same amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }), (amount, decimals) => {
        const text = formatUnitsGrouped(amount, decimals);
        const [whole, frac] = text.replace(/^-/, '').split('.');
        expect(frac ?? '').not.toContain(',');
        expect(whole).toMatch(/^\d{1,3}(,\d{3})*$/);
        expect(text.replaceAll(',', '')).toBe(formatUnits(amount, decimals));
        const abs = parseAmount(text.replace(/^-/, '').replaceAll(',', ''), decimals);
        expect(amount < 0n ? -abs : abs).toBe(amount);
      }),
    );
  });

  it('groups whole numbers only', () => {
    expect(groupThousands('1234')).toBe('1,234');
    expect(groupThousands('1234', ' ')).toBe('1 234');
    expect(() => groupThousands('12.5')).toThrow(/not a whole number/);
  });
});
