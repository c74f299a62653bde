import { describe, expect, it } from 'vitest';
import { ClientSockets, clientKey } from './clients.ts';

describe('clientKey', () => {
  it('counts an IPv4 client by its address, also written as IPv4-mapped IPv6', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });

  it('counts an IPv6 client by its /64, however the address is written', () => {
    const k = clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(k).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::1')).toBe(k);
    expect(clientKey('2001:0db8:0001:0002:0:0:0:ffff')).toBe(k);
    expect(clientKey('2001:DB8:1:2::')).toBe(k);
    expect(clientKey('2001:db8:1:3::1')).not.toBe(k);
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});

/** A socket whose unsent bytes the test sets; cutting it off removes it, as the API's handler does. */
class FakeSocket {
  bufferedAmount = 0;
  cutFor: string | undefined;
}

function held(limits: { perClient?: number; maxBuffered?: number; maxTotalBuffered?: number } = {}) {
  const sockets = new ClientSockets({ perClient: 3, maxBuffered: 1000, maxTotalBuffered: 2500, ...limits });
  const open = (client: string): FakeSocket | undefined => {
    const s = new FakeSocket();
    const ok = sockets.add(s, client, (reason) => {
      s.cutFor = reason;
      sockets.remove(s);
    });
    return ok ? s : undefined;
  };
  return { sockets, open };
}

describe('ClientSockets', () => {
  it('holds each client to its cap of open sockets, and frees a place when one closes', () => {
    const { sockets, open } = held();
    const a = [open('a'), open('a'), open('a')];
    expect(a.every(Boolean)).toBe(true);
    expect(sockets.mayOpen('a')).toBe(false);
    expect(open('a')).toBeUndefined();
    expect(sockets.refused).toBe(2);
    expect(open('b')).toBeDefined();
    sockets.remove(a[0]!);
    expect(sockets.mayOpen('a')).toBe(true);
    expect(sockets.size).toBe(3);
  });

  it('cuts off a socket past its own cap before sending it more', () => {
    const { sockets, open } = held();
    const s = open('a')!;
    s.bufferedAmount = 1000;
    expect(sockets.maySend(s)).toBe(true);
    s.bufferedAmount = 1001;
    expect(sockets.maySend(s)).toBe(false);
    expect(s.cutFor).toMatch(/more than 1000 bytes unread/);
    expect(sockets.size).toBe(0);
    expect(sockets.cut).toBe(1);
  });

  it('past the total cap, cuts off the sockets holding the most until the rest fit; readers stay', () => {
    const { sockets, open } = held();
    const reader = open('r')!;
    const [x, y, z] = [open('x')!, open('y')!, open('z')!];
    x.bufferedAmount = 900;
    expect(sockets.maySend(x)).toBe(true);
    y.bufferedAmount = 800;
    expect(sockets.maySend(y)).toBe(true);
    z.bufferedAmount = 950;
    // 2,650 unsent in all, over 2,500: z, holding the most, goes; the other two fit.
    expect(sockets.maySend(z)).toBe(false);
    expect(z.cutFor).toMatch(/held the most \(950\)/);
    expect(x.cutFor).toBeUndefined();
    expect(y.cutFor).toBeUndefined();
    expect(sockets.maySend(reader)).toBe(true);
    expect(sockets.recount()).toBe(1700);
  });

  it('does not cut anyone on a stale total: sockets that drained are recounted first', () => {
    const { sockets, open } = held();
    const [x, y, z] = [open('x')!, open('y')!, open('z')!];
    x.bufferedAmount = 990;
    sockets.maySend(x);
    y.bufferedAmount = 990;
    sockets.maySend(y);
    // x and y drain without a send: the running total still counts them.
    x.bufferedAmount = 0;
    y.bufferedAmount = 0;
    z.bufferedAmount = 990;
    expect(sockets.maySend(z)).toBe(true);
    expect([x.cutFor, y.cutFor, z.cutFor]).toEqual([undefined, undefined, undefined]);
    expect(sockets.recount()).toBe(990);
  });

  it('a cut socket gives its place back to its client', () => {
    const { sockets, open } = held({ perClient: 1 });
    const s = open('a')!;
    expect(open('a')).toBeUndefined();
    s.bufferedAmount = 5000;
    sockets.maySend(s);
    expect(open('a')).toBeDefined();
  });
});
