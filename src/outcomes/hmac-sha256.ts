/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) for signing decision ids on the hot
 * path. Node's createHmac builds a native object, looks the digest up and
 * hashes the key pads on every call: about 3 µs per decision here, more under
 * load, and garbage for the collector. This keeps, per key, the SHA-256 state
 * after the inner and outer key pads (computed once), so a MAC costs only the
 * message's own blocks plus one outer block, in preallocated typed arrays.
 *
 * The result is exactly HMAC-SHA256: test/unit/hmac-sha256.test.ts checks it
 * against node:crypto for every message length across several blocks and for
 * keys of every length class. SHA-256 has no secret-dependent branches or
 * table lookups (the round constants are indexed by round), so this runs in
 * the same time for every key and message of a given length.
 */
import { createHash } from 'node:crypto';

const BLOCK = 64;

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Scratch shared by every MAC: JavaScript runs one at a time, and none of them awaits. */
const W = new Int32Array(64);
const state = new Int32Array(8);

/** Loads the 64 bytes at `offset` as the block's 16 big-endian words. */
function load(bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    W[i] = ((bytes[j] as number) << 24) | ((bytes[j + 1] as number) << 16) | ((bytes[j + 2] as number) << 8) | (bytes[j + 3] as number);
  }
}

/**
 * Loads the message's last, partial block: the bytes from `offset` to `end`,
 * then SHA-256's padding for a message of `total` bytes, straight into the
 * words (no padded copy of the bytes). Returns false when the padding does
 * not fit and a second block follows, its words loaded by `loadLength`.
 */
function loadLast(bytes: Uint8Array, offset: number, end: number, total: number): boolean {
  W.fill(0, 0, 16);
  const rest = end - offset;
  for (let i = 0; i < rest; i++) W[i >> 2] = (W[i >> 2] as number) | ((bytes[offset + i] as number) << (24 - 8 * (i & 3)));
  W[rest >> 2] = (W[rest >> 2] as number) | (0x80 << (24 - 8 * (rest & 3)));
  if (rest + 9 > BLOCK) return false;
  loadLength(total);
  return true;
}

/** The words of a padding block ending in the length of a `total`-byte message in bits; messages here are far below 2^32 bits. */
function loadLength(total: number): void {
  const bits = total * 8;
  W[14] = Math.floor(bits / 2 ** 32) | 0;
  W[15] = bits | 0;
}

/** One SHA-256 compression of the block whose first 16 words are in W into `h`. */
function compress(h: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15] as number;
    const y = W[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = h[0] as number;
  let b = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  let f = h[5] as number;
  let g = h[6] as number;
  let k = h[7] as number;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choice = (e & f) ^ (~e & g);
    const t1 = (k + s1 + choice + (K[i] as number) + (W[i] as number)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + s0 + majority) | 0;
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + b) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
  h[5] = ((h[5] as number) + f) | 0;
  h[6] = ((h[6] as number) + g) | 0;
  h[7] = ((h[7] as number) + k) | 0;
}

/** Writes the first `length` bytes of the big-endian words of `h`. */
function writeWords(h: Int32Array, out: Uint8Array, at: number, length: number): void {
  for (let i = 0; i < length; i++) out[at + i] = ((h[i >> 2] as number) >>> (24 - 8 * (i & 3))) & 0xff;
}

/**
 * The first 32 bits of plain SHA-256 over `data[0, end)`, unsigned: what the
 * bucket fact takes of its hash (src/conditions/bucket.ts), without
 * node:crypto's hash object, three calls into native code and a digest
 * buffer per customer and salt.
 */
export function sha256FirstWord(data: Uint8Array, end: number): number {
  state.set(INITIAL);
  let offset = 0;
  for (; offset + BLOCK <= end; offset += BLOCK) {
    load(data, offset);
    compress(state);
  }
  const fits = loadLast(data, offset, end, end);
  compress(state);
  if (!fits) {
    W.fill(0, 0, 16);
    loadLength(end);
    compress(state);
  }
  return (state[0] as number) >>> 0;
}

export interface HmacSha256 {
  /**
   * Writes the first `length` (at most 32) bytes of HMAC-SHA256 over
   * `data[0, end)` into `out` at `at`. `out` may be `data` itself, at or
   * after `end`: the message is read completely before anything is written.
   */
  write(data: Uint8Array, end: number, out: Uint8Array, at: number, length: number): void;
}

export function createHmacSha256(secret: Uint8Array): HmacSha256 {
  // RFC 2104: a key longer than a block is hashed first; a shorter one is padded with zeros.
  const key = new Uint8Array(BLOCK);
  key.set(secret.length > BLOCK ? createHash('sha256').update(secret).digest() : secret);
  const padded = (byte: number): Int32Array => {
    const h = INITIAL.slice();
    load(key.map((b) => b ^ byte), 0);
    compress(h);
    return h;
  };
  const inner = padded(0x36);
  const outer = padded(0x5c);

  return {
    write(data, end, out, at, length) {
      if (length < 0 || length > 32) throw new RangeError('an HMAC-SHA256 has 32 bytes');
      state.set(inner);
      let offset = 0;
      for (; offset + BLOCK <= end; offset += BLOCK) {
        load(data, offset);
        compress(state);
      }
      // The inner hash's last block (or two), after the inner key pad's block.
      const fits = loadLast(data, offset, end, BLOCK + end);
      compress(state);
      if (!fits) {
        W.fill(0, 0, 16);
        loadLength(BLOCK + end);
        compress(state);
      }
      // The outer hash: the outer pad's state, then one block holding the 32-byte inner digest and its padding.
      for (let i = 0; i < 8; i++) W[i] = state[i] as number;
      W[8] = 0x80 << 24;
      W.fill(0, 9, 16);
      loadLength(BLOCK + 32);
      state.set(outer);
      compress(state);
      writeWords(state, out, at, length);
    },
  };
}
