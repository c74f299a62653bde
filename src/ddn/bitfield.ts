// Which pieces of a blob are held: one bit per piece, most significant bit of byte 0 first
// (BitTorrent's order), so the same bytes mean the same thing on disk and on the wire.

export class Bitfield {
  readonly length: number;
  readonly bytes: Uint8Array;
  private ones = 0;

  constructor(length: number, bytes?: Uint8Array) {
    this.length = length;
    this.bytes = new Uint8Array(Math.ceil(length / 8));
    if (bytes) {
      if (bytes.length !== this.bytes.length) throw new Error(`bitfield of ${length} pieces needs ${this.bytes.length} bytes, got ${bytes.length}`);
      this.bytes.set(bytes);
      // Bits past the last piece must be zero, or two encodings would mean the same set.
      if (length % 8 && this.bytes[this.bytes.length - 1] & (0xff >> (length % 8))) throw new Error('bitfield has bits set past its last piece');
      for (let i = 0; i < length; i++) if (this.has(i)) this.ones++;
    }
  }

  static full(length: number): Bitfield {
    const b = new Bitfield(length);
    for (let i = 0; i < length; i++) b.set(i);
    return b;
  }

  static fromBase64(length: number, s: string): Bitfield {
    return new Bitfield(length, Buffer.from(s, 'base64'));
  }

  has(i: number): boolean {
    return i >= 0 && i < this.length && (this.bytes[i >> 3] & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number): void {
    if (i < 0 || i >= this.length) throw new RangeError(`piece ${i} outside 0..${this.length - 1}`);
    if (this.has(i)) return;
    this.bytes[i >> 3] |= 0x80 >> (i & 7);
    this.ones++;
  }

  clear(i: number): void {
    if (!this.has(i)) return;
    this.bytes[i >> 3] &= ~(0x80 >> (i & 7));
    this.ones--;
  }

  get count(): number {
    return this.ones;
  }

  get complete(): boolean {
    return this.ones === this.length;
  }

  toBase64(): string {
    return Buffer.from(this.bytes).toString('base64');
  }
}
