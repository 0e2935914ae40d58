import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NdjsonLineSplitter, type BodyLine } from '../../src/http/ndjson-lines.js';

/** The lines of `bytes` split into chunks at the given cut points. */
function split(bytes: Buffer, cuts: number[], max = 16): BodyLine[] {
  const splitter = new NdjsonLineSplitter(max);
  const out: BodyLine[] = [];
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    splitter.push(bytes.subarray(start, cut), out);
    start = cut;
  }
  splitter.push(bytes.subarray(start), out);
  splitter.end(out);
  return out;
}

describe('NdjsonLineSplitter', () => {
  it('numbers lines from 1, counts and skips blank ones, strips CR, and keeps a last line without a break', () => {
    const body = Buffer.from('{"a":1}\n\n  \r\n{"b":"é"}\r\n{"c":3}');
    expect(split(body, [])).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 4, text: '{"b":"é"}' },
      { line: 5, text: '{"c":3}' },
    ]);
  });

  it('answers a line over the limit as too large without holding it, and one of exactly the limit as text', () => {
    const body = Buffer.from(`${'x'.repeat(16)}\n${'y'.repeat(17)}\r\n${'z'.repeat(16)}\r\nok`);
    expect(split(body, [3, 20, 25])).toEqual([
      { line: 1, text: 'x'.repeat(16) },
      { line: 2, unreadable: 'too-large' },
      { line: 3, text: 'z'.repeat(16) },
      { line: 4, text: 'ok' },
    ]);
  });

  it('answers a line that is not UTF-8 as such, and reads the others of the chunk', () => {
    const body = Buffer.concat([Buffer.from('{"a":1}\n'), Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), Buffer.from('\n{"b":2}\n')]);
    expect(split(body, [])).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, unreadable: 'not-utf8' },
      { line: 3, text: '{"b":2}' },
    ]);
  });

  it('numbers the lines of a part of a body after the lines before it', () => {
    const out: BodyLine[] = [];
    const splitter = new NdjsonLineSplitter(16, 40);
    splitter.push(Buffer.from(`{"a":1}\n\n${'x'.repeat(17)}\n`), out);
    expect(out).toEqual([
      { line: 41, text: '{"a":1}' },
      { line: 43, unreadable: 'too-large' },
    ]);
  });

  it('gives the same lines however the body is cut into chunks, a character cut in two included', () => {
    const lineArb = fc.oneof(fc.constant(''), fc.constant('  '), fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '')));
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 12 }), fc.boolean(), fc.array(fc.nat(200), { maxLength: 8 }), (lines, crlf, cuts) => {
        const bytes = Buffer.from(lines.join(crlf ? '\r\n' : '\n'));
        const whole = split(bytes, []);
        expect(split(bytes, cuts.map((c) => c % (bytes.length + 1)))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
});
