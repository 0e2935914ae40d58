/**
 * The decision stream's answers as bytes: each line encoded on its own into
 * one buffer (src/http/decision-stream.ts), which must give exactly the UTF-8
 * of the lines joined, whatever they hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeLines } from '../../src/http/decision-stream.js';

const utf8 = (texts: readonly string[]): Uint8Array => new TextEncoder().encode(texts.join(''));

describe('encodeLines', () => {
  it('gives the UTF-8 of the lines joined, whatever they hold (a lone surrogate as U+FFFD, as TextEncoder)', () => {
    const loneSurrogates = fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)) });
    const text = fc.oneof(fc.string({ unit: 'grapheme-ascii' }), fc.string({ unit: 'binary' }), loneSurrogates, fc.string({ unit: 'grapheme', maxLength: 200 })).map((line) => `${line}\n`);
    fc.assert(
      fc.property(fc.array(text, { maxLength: 40 }), (texts) => {
        expect(Buffer.from(encodeLines(texts))).toEqual(Buffer.from(utf8(texts)));
      }),
      { numRuns: 1000 },
    );
  });

  it('answers ASCII lines in one buffer of their length, and goes on in another when multi-byte text outgrows it', () => {
    const ascii = ['{"a":1}\n', '{"b":2}\n'];
    expect(encodeLines(ascii).byteLength).toBe(16);
    // Three bytes a character after ASCII lines: past the first buffer, each line whole.
    const mixed = [...ascii, `${'€'.repeat(5000)}\n`, '{"c":3}\n', `${'😀'.repeat(3)}\n`];
    expect(Buffer.from(encodeLines(mixed)).toString('utf8')).toBe(mixed.join(''));
    expect(encodeLines([]).byteLength).toBe(0);
  });
});
