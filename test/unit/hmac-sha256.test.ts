import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHmacSha256 } from '../../src/outcomes/hmac-sha256.js';

function reference(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

describe('HMAC-SHA256', () => {
  it('matches node:crypto for every message length over three blocks and every padding boundary', () => {
    const key = randomBytes(32);
    const mac = createHmacSha256(key);
    const out = new Uint8Array(32);
    for (let length = 0; length <= 200; length++) {
      const message = randomBytes(length);
      mac.write(message, length, out, 0, 32);
      expect(Buffer.from(out).toString('hex'), `length ${length}`).toBe(reference(key, message).toString('hex'));
    }
  });

  it('matches node:crypto for keys shorter than, as long as and longer than a block', () => {
    const message = randomBytes(150);
    for (const keyLength of [1, 16, 31, 32, 63, 64, 65, 100, 300]) {
      const key = randomBytes(keyLength);
      const out = new Uint8Array(32);
      createHmacSha256(key).write(message, message.length, out, 0, 32);
      expect(Buffer.from(out).toString('hex'), `key of ${keyLength} bytes`).toBe(reference(key, message).toString('hex'));
    }
  });

  it('matches RFC 4231 test case 2', () => {
    const out = new Uint8Array(32);
    const message = Buffer.from('what do ya want for nothing?');
    createHmacSha256(Buffer.from('Jefe')).write(message, message.length, out, 0, 32);
    expect(Buffer.from(out).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('reads only the first `end` bytes and writes a prefix in place after them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 32 }), (key, message, length) => {
        const buffer = new Uint8Array(message.length + 40).fill(0xaa);
        buffer.set(message);
        createHmacSha256(key).write(buffer, message.length, buffer, message.length, length);
        const expected = reference(key, message).subarray(0, length);
        expect(Buffer.from(buffer.subarray(0, message.length))).toEqual(Buffer.from(message));
        expect(Buffer.from(buffer.subarray(message.length, message.length + length))).toEqual(expected);
        expect(buffer[message.length + length]).toBe(0xaa);
      }),
      { numRuns: 300 },
    );
  });

  it('gives two keys their own MACs when used in turn', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const [macA, macB] = [createHmacSha256(a), createHmacSha256(b)];
    const message = randomBytes(90);
    const out = new Uint8Array(32);
    macA.write(message, 90, out, 0, 32);
    expect(Buffer.from(out)).toEqual(reference(a, message));
    macB.write(message, 90, out, 0, 32);
    expect(Buffer.from(out)).toEqual(reference(b, message));
  });
});
