import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameReader } from './dockerLogs.ts';
import { CappedLog, droppedNote, logStateFile, readLogTail } from './leaseLog.ts';

const dir = mkdtempSync(join(tmpdir(), 'zeus-lease-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const target = (capBytes: number) => ({ file: join(dir, `log-${n++}`), capBytes });
const text = (s: string) => Buffer.from(s);

describe('a lease log', () => {
  it('keeps the first capBytes of output, counts the rest, and ends with the count', () => {
    const t = target(10);
    const log = CappedLog.create(t);
    log.write(text('hello\n'));
    log.write(text('world, and more'));
    log.write(text('x'.repeat(1000)));
    expect(log.counts()).toEqual({ kept: 10, dropped: 1011, done: false });
    expect(log.finish()).toEqual({ kept: 10, dropped: 1011, done: true });
    expect(readFileSync(t.file, 'utf8')).toBe('hello\nworl\n[zeus: 1011 bytes dropped past the 10 bytes cap]\n');
    expect(JSON.parse(readFileSync(logStateFile(t.file), 'utf8'))).toMatchObject({ kept: 10, dropped: 1011, done: true });
  });

  it('says nothing when nothing was dropped, and names the cap in MiB', () => {
    const t = target(1024 * 1024);
    const log = CappedLog.create(t);
    log.write(text('all of it\n'));
    log.finish();
    expect(readFileSync(t.file, 'utf8')).toBe('all of it\n');
    expect(droppedNote(5, 8 * 1024 * 1024)).toBe('[zeus: 5 bytes dropped past the 8 MiB cap]\n');
  });

  it('taken up after a crash: cut back to its last record, and its closing note says that output may be uncounted', () => {
    const t = target(64);
    const first = CappedLog.create(t);
    first.write(text('recorded\n'));
    first.checkpoint();
    // Written after the last record, then the agent died: the next one reads it again from the engine.
    first.write(text('not recorded\n'));
    expect(readFileSync(t.file, 'utf8')).toBe('recorded\nnot recorded\n');
    const recordedAt = (JSON.parse(readFileSync(logStateFile(t.file), 'utf8')) as { at: number }).at;

    const { log, since } = CappedLog.resume(t);
    expect(since).toBe(recordedAt);
    expect(readFileSync(t.file, 'utf8')).toBe('recorded\n');
    log.note('restarted');
    log.write(text('again\n'));
    // No record while the output printed meanwhile is read back: a crash now would resume from the same point.
    log.checkpoint();
    expect((JSON.parse(readFileSync(logStateFile(t.file), 'utf8')) as { at: number }).at).toBe(recordedAt);
    log.caughtUp();
    log.write(text('y'.repeat(100)));
    log.finish();
    expect(readFileSync(t.file, 'utf8')).toBe(
      `recorded\n[zeus: restarted]\nagain\n${'y'.repeat(64 - 15)}\n[zeus: at least 51 bytes dropped past the 64 bytes cap (the worker agent was restarted meanwhile: what the engine's log had let go by then is not counted)]\n`,
    );
    // A finished log comes back finished: nothing more is read into it.
    const again = CappedLog.resume(t);
    expect(again.since).toBeUndefined();
    expect(again.log.counts()).toEqual({ kept: 64, dropped: 51, done: true });
  });

  it("taken up with no record (or a torn one) starts over from the engine's whole log", () => {
    const t = target(64);
    writeFileSync(t.file, 'left from an older agent');
    writeFileSync(logStateFile(t.file), '{"v":1,"kept":');
    const { log, since } = CappedLog.resume(t);
    expect(since).toBe(0);
    log.write(text('fresh\n'));
    log.finish();
    expect(readFileSync(t.file, 'utf8')).toBe('fresh\n');
  });

  it('reads at most the end of a file', () => {
    const t = target(1);
    writeFileSync(t.file, 'abcdefghij');
    expect(readLogTail(t.file, 4)).toEqual({ bytes: Buffer.from('ghij'), cut: 6 });
    expect(readLogTail(t.file, 100)).toEqual({ bytes: Buffer.from('abcdefghij'), cut: 0 });
    expect(readLogTail(join(dir, 'none'), 4)).toBeUndefined();
  });
});

describe("Docker's multiplexed stream", () => {
  const frame = (type: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h[0] = type;
    h.writeUInt32BE(payload.length, 4);
    return Buffer.concat([h, payload]);
  };

  it('gives back the payloads in order, however the frames are cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map(([type, p]) => frame(type, Buffer.from(p))));
          const got: Buffer[] = [];
          const r = new FrameReader((p) => got.push(Buffer.from(p)));
          for (let at = 0, i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length];
            r.push(stream.subarray(at, at + n));
            at += n;
          }
          expect(Buffer.concat(got)).toEqual(Buffer.concat(frames.map(([, p]) => Buffer.from(p))));
        },
      ),
    );
  });
});
