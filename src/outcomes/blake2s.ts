/**
 * Keyed BLAKE2s (RFC 7693) as a MAC, for signing decision ids on the hot
 * path (format 3). A decision id's payload is under 64 bytes: keyed BLAKE2s
 * absorbs it in one compression after the key's block, which is compressed
 * once per key, where HMAC-SHA256 needs two (the inner hash's block and the
 * outer one): about a third of the instructions (docs/performance.md).
 * Keyed BLAKE2 is a MAC by design (RFC 7693, section 2.5); the digest length
 * is a parameter of the hash, so a 16-byte tag is BLAKE2s-128, not a
 * truncated BLAKE2s-256.
 *
 * test/unit/blake2s.test.ts checks it against Python's hashlib.blake2s
 * (fixtures in test/fixtures/blake2s.json) for every message length across
 * several blocks, keys of every length and digest lengths, and RFC 7693's
 * own vector. BLAKE2s has no secret-dependent branches or table lookups (the
 * message schedule is indexed by round), so it runs in the same time for
 * every key and message of a given length.
 */

const BLOCK = 64;
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
// prettier-ignore
const SIGMA = new Uint8Array([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
]);

/** Scratch shared by every MAC: JavaScript runs one at a time, and none of them awaits. */
const M = new Int32Array(16);
const state = new Int32Array(8);

/** Loads `length` (at most 64) bytes at `offset` as the block's 16 little-endian words, zero-padded. */
function load(bytes: Uint8Array, offset: number, length: number): void {
  if (length === BLOCK) {
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      M[i] = (bytes[j] as number) | ((bytes[j + 1] as number) << 8) | ((bytes[j + 2] as number) << 16) | ((bytes[j + 3] as number) << 24);
    }
    return;
  }
  M.fill(0);
  for (let i = 0; i < length; i++) M[i >> 2] = (M[i >> 2] as number) | ((bytes[offset + i] as number) << (8 * (i & 3)));
}

/**
 * One BLAKE2s compression of the block in M into `h`; `counted` is how many
 * bytes have been absorbed with this block (below 2^32 here), `last` whether
 * it is the final block.
 */
function compress(h: Int32Array, counted: number, last: boolean): void {
  let v0 = h[0] as number;
  let v1 = h[1] as number;
  let v2 = h[2] as number;
  let v3 = h[3] as number;
  let v4 = h[4] as number;
  let v5 = h[5] as number;
  let v6 = h[6] as number;
  let v7 = h[7] as number;
  let v8 = IV[0] as number;
  let v9 = IV[1] as number;
  let v10 = IV[2] as number;
  let v11 = IV[3] as number;
  let v12 = (IV[4] as number) ^ counted;
  let v13 = IV[5] as number;
  let v14 = last ? ~(IV[6] as number) : (IV[6] as number);
  let v15 = IV[7] as number;
  // Ten rounds, each the eight G mixings of RFC 7693 section 3.1 written out: the state stays in locals (registers),
  // and each G's two message words are those SIGMA names for the round.
  for (let s = 0; s < 160; s += 16) {
    v0 = (v0 + v4 + (M[SIGMA[s + 0] as number] as number)) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + (M[SIGMA[s + 1] as number] as number)) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + (M[SIGMA[s + 2] as number] as number)) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + (M[SIGMA[s + 3] as number] as number)) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + (M[SIGMA[s + 4] as number] as number)) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + (M[SIGMA[s + 5] as number] as number)) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + (M[SIGMA[s + 6] as number] as number)) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + (M[SIGMA[s + 7] as number] as number)) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + (M[SIGMA[s + 8] as number] as number)) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + (M[SIGMA[s + 9] as number] as number)) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + (M[SIGMA[s + 10] as number] as number)) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + (M[SIGMA[s + 11] as number] as number)) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + (M[SIGMA[s + 12] as number] as number)) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + (M[SIGMA[s + 13] as number] as number)) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + (M[SIGMA[s + 14] as number] as number)) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + (M[SIGMA[s + 15] as number] as number)) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 7) | (v4 << 25);
  }
  h[0] = (h[0] as number) ^ v0 ^ v8;
  h[1] = (h[1] as number) ^ v1 ^ v9;
  h[2] = (h[2] as number) ^ v2 ^ v10;
  h[3] = (h[3] as number) ^ v3 ^ v11;
  h[4] = (h[4] as number) ^ v4 ^ v12;
  h[5] = (h[5] as number) ^ v5 ^ v13;
  h[6] = (h[6] as number) ^ v6 ^ v14;
  h[7] = (h[7] as number) ^ v7 ^ v15;
}

export interface Blake2sMac {
  /**
   * Writes the `length`-byte (the digest length given at creation) keyed
   * BLAKE2s of `data[0, end)` into `out` at `at`. `out` may be `data` itself,
   * at or after `end`: the message is read completely before anything is written.
   */
  write(data: Uint8Array, end: number, out: Uint8Array, at: number, length: number): void;
}

/** Keyed BLAKE2s with a `digestLength`-byte output (1-32); `key` of 1-32 bytes. */
export function createBlake2sMac(key: Uint8Array, digestLength: number): Blake2sMac {
  if (key.length < 1 || key.length > 32) throw new RangeError('a BLAKE2s key has 1 to 32 bytes');
  if (!Number.isInteger(digestLength) || digestLength < 1 || digestLength > 32) throw new RangeError('a BLAKE2s digest has 1 to 32 bytes');
  const initial = IV.slice();
  initial[0] = (initial[0] as number) ^ 0x01010000 ^ (key.length << 8) ^ digestLength;
  const keyBlock = new Uint8Array(BLOCK);
  keyBlock.set(key);
  // The state after the key's block, for any message of at least one byte (the key block is then not the last).
  const keyed = initial.slice();
  load(keyBlock, 0, BLOCK);
  compress(keyed, BLOCK, false);

  return {
    write(data, end, out, at, length) {
      if (length !== digestLength) throw new RangeError(`this BLAKE2s MAC writes ${digestLength} bytes`);
      if (end === 0) {
        // An empty message: the key's block is the last.
        state.set(initial);
        load(keyBlock, 0, BLOCK);
        compress(state, BLOCK, true);
      } else {
        state.set(keyed);
        let offset = 0;
        for (; end - offset > BLOCK; offset += BLOCK) {
          load(data, offset, BLOCK);
          compress(state, BLOCK + offset + BLOCK, false);
        }
        load(data, offset, end - offset);
        compress(state, BLOCK + end, true);
      }
      for (let i = 0; i < length; i++) out[at + i] = ((state[i >> 2] as number) >>> (8 * (i & 3))) & 0xff;
    },
  };
}
