// snappyjs (pure-JS Snappy) ships no types; the one function the table check uses.
declare module 'snappyjs' {
  /** Throws on malformed input or an uncompressed length over `maxLength`. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  const snappy: { uncompress: typeof uncompress };
  export default snappy;
}
