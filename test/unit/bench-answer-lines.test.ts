/**
 * The sends bench's client counts the stream's answers and problems as the
 * bytes come, split anywhere (load/bench/sends.ts): what it reports as
 * decisions/s and problem lines rests on this count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerLineCounter } from '../../load/bench/sends.js';

const decision = fc.string({ maxLength: 40 }).map((id) => `${JSON.stringify({ decisionId: id, items: [] })}\n`);
const problem = fc.integer({ min: 1, max: 1e6 }).map((line) => `${JSON.stringify({ type: 'about:blank', status: 400, line })}\n`);

describe('answerLineCounter', () => {
  it('counts every line and every problem, however the bytes are split into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(decision, problem), { maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }), (lines, sizes) => {
        const bytes = Buffer.from(lines.join(''));
        const counter = answerLineCounter();
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = sizes[i % sizes.length] as number;
          counter.push(bytes.subarray(at, at + size));
          at += size;
        }
        expect(counter.answers).toBe(lines.length);
        expect(counter.problems).toBe(lines.filter((line) => line.startsWith('{"type"')).length);
      }),
    );
  });

  it('calls back once a line, with the count so far', () => {
    const seen: number[] = [];
    const counter = answerLineCounter(() => seen.push(counter.answers));
    counter.push(Buffer.from('{"decisionId":"a"}\n{"deci'));
    counter.push(Buffer.from('sionId":"b"}\n{"type":"x"}\n'));
    expect(seen).toEqual([1, 2, 3]);
    expect(counter.problems).toBe(1);
  });
});
