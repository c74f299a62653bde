// Length-prefixed frames: a 4-byte big-endian length, then that many bytes.
//
// The decoder checks every announced length against its cap as soon as the 4-byte header has
// arrived, before it buffers or allocates the body, so a peer cannot make us hold more than
// `cap + 4 + one chunk` bytes per stream.
import { Uint8ArrayList } from 'uint8arraylist';

export const FRAME_HEADER_BYTES = 4;

export class FrameTooLargeError extends Error {
  readonly length: number;
  readonly cap: number;
  constructor(length: number, cap: number) {
    super(`frame of ${length} bytes exceeds the cap of ${cap} bytes`);
    this.name = 'FrameTooLargeError';
    this.length = length;
    this.cap = cap;
  }
}

export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrameError';
  }
}

/** Header + body as a list of chunks (no copy of the body). */
export function encodeFrame(...parts: Uint8Array[]): Uint8ArrayList {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  if (n > 0xffff_ffff) throw new RangeError(`frame of ${n} bytes is too large to encode`);
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, n);
  return new Uint8ArrayList(header, ...parts);
}

export class FrameDecoder {
  readonly cap: number;
  readonly allowEmpty: boolean;
  #buf = new Uint8ArrayList();
  /** Total bytes of complete frames produced so far (for callers that cap a whole response). */
  bytesDecoded = 0;

  constructor(cap: number, allowEmpty = false) {
    if (!Number.isSafeInteger(cap) || cap < 0) throw new RangeError('invalid frame cap');
    this.cap = cap;
    this.allowEmpty = allowEmpty;
  }

  /** Bytes held that do not yet form a whole frame. */
  get pending(): number {
    return this.#buf.byteLength;
  }

  /**
   * Feed a chunk; returns the frames it completed. Throws FrameTooLargeError as soon as a header
   * announces more than `cap` bytes, and MalformedFrameError for an empty frame when those are not
   * allowed.
   */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buf.append(chunk);
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.#buf.byteLength < FRAME_HEADER_BYTES) break;
      const len = this.#buf.getUint32(0);
      if (len > this.cap) throw new FrameTooLargeError(len, this.cap);
      if (len === 0 && !this.allowEmpty) throw new MalformedFrameError('empty frame');
      if (this.#buf.byteLength < FRAME_HEADER_BYTES + len) break;
      // Exactly `len` bytes, allocated only now that the length has been checked and has arrived.
      const frame = this.#buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len);
      this.#buf.consume(FRAME_HEADER_BYTES + len);
      this.bytesDecoded += len;
      out.push(frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : frame.slice());
    }
    return out;
  }
}
