import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBlake2sMac } from '../../src/outcomes/blake2s.js';

/** Digests computed by Python's hashlib.blake2s; see the fixture's `_about` for how its keys and messages are made. */
const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/blake2s.json', import.meta.url), 'utf8')) as {
  cases: Array<[number, number, number, number, number, string]>;
};
const keyOf = (length: number, seed: number) => Uint8Array.from({ length }, (_, j) => (seed * 17 + 11 * j + 3) & 255);
const messageOf = (length: number, seed: number) => Uint8Array.from({ length }, (_, j) => (seed * 31 + 7 * j + ((j * j) % 13)) & 255);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('keyed BLAKE2s', () => {
  it("matches Python's hashlib for every message length over three blocks, every key length and digest length", () => {
    expect(FIXTURE.cases.length).toBeGreaterThan(300);
    for (const [keyLength, keySeed, length, seed, digestLength, expected] of FIXTURE.cases) {
      const out = new Uint8Array(digestLength);
      createBlake2sMac(keyOf(keyLength, keySeed), digestLength).write(messageOf(length, seed), length, out, 0, digestLength);
      expect(hex(out), `key ${keyLength} bytes, message ${length} bytes, digest ${digestLength} bytes`).toBe(expected);
    }
  });

  it("matches RFC 7693's keyed test vector: the key 00..1f over the empty message", () => {
    const out = new Uint8Array(32);
    createBlake2sMac(Uint8Array.from({ length: 32 }, (_, i) => i), 32).write(new Uint8Array(0), 0, out, 0, 32);
    expect(hex(out)).toBe('48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49');
  });

  it('reads only the first `end` bytes and writes in place after them, the same for one key used many times', () => {
    const mac = createBlake2sMac(keyOf(32, 5), 16);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (message) => {
        const alone = new Uint8Array(16);
        createBlake2sMac(keyOf(32, 5), 16).write(message, message.length, alone, 0, 16);
        const buffer = new Uint8Array(message.length + 20).fill(0xaa);
        buffer.set(message);
        mac.write(buffer, message.length, buffer, message.length, 16);
        expect(hex(buffer.subarray(0, message.length))).toBe(hex(message));
        expect(hex(buffer.subarray(message.length, message.length + 16))).toBe(hex(alone));
        expect(buffer[message.length + 16]).toBe(0xaa);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses keys and digest lengths BLAKE2s does not have', () => {
    expect(() => createBlake2sMac(new Uint8Array(0), 16)).toThrow(RangeError);
    expect(() => createBlake2sMac(new Uint8Array(33), 16)).toThrow(RangeError);
    expect(() => createBlake2sMac(new Uint8Array(32), 33)).toThrow(RangeError);
    expect(() => createBlake2sMac(new Uint8Array(32), 16).write(new Uint8Array(4), 4, new Uint8Array(32), 0, 32)).toThrow(RangeError);
  });
});
