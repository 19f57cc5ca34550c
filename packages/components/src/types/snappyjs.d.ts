/** Types for snappyjs (pure-JS Snappy block format), which ships none. */
declare module 'snappyjs' {
  /** Throws on a corrupt stream, or when the stated uncompressed length exceeds `maxLength`. */
  export function uncompress<T extends Buffer | Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Buffer | Uint8Array | ArrayBuffer>(uncompressed: T): T;
}
