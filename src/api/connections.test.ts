import { describe, expect, it } from 'vitest';
import { ClientConnections, defaultMaxConnections } from './connections.ts';

describe('open connections per client and in total', () => {
  it('closes a client past its cap, and frees a place when one closes', () => {
    const c = new ClientConnections({ perClient: 2, total: 10 });
    const a1 = c.admit('10.0.0.1');
    const a2 = c.admit('10.0.0.1');
    expect(a1 && a2).toBeTruthy();
    expect(c.admit('10.0.0.1')).toBeUndefined();
    expect(c.refused.client).toBe(1);
    expect(c.admit('10.0.0.2')).toBeTruthy();
    a1!();
    a1!(); // twice is once
    expect(c.open('10.0.0.1')).toBe(1);
    expect(c.admit('10.0.0.1')).toBeTruthy();
    expect(c.open()).toBe(3);
  });

  it('closes anyone past the total', () => {
    const c = new ClientConnections({ perClient: 5, total: 3 });
    const held = ['a', 'b', 'c'].map((k) => c.admit(k));
    expect(c.admit('d')).toBeUndefined();
    expect(c.refused.total).toBe(1);
    held[1]!();
    expect(c.admit('d')).toBeTruthy();
  });

  it('takes its default from the soft limit of open files', () => {
    const limits = (soft: string) =>
      `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                20000                files\n`;
    expect(defaultMaxConnections(limits('1024'))).toBe(512);
    expect(defaultMaxConnections(limits('20000'))).toBe(8192);
    expect(defaultMaxConnections(limits('unlimited'))).toBe(8192);
    expect(defaultMaxConnections(limits('50'))).toBe(64);
    expect(defaultMaxConnections('')).toBe(8192);
  });
});
