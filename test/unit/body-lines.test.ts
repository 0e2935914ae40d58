/**
 * The decision stream's body, as lines for the decider (src/http/decision-stream.ts):
 * what has arrived is taken without waiting, the body is read ahead only while
 * fewer than READ_AHEAD_LINES lines wait, and a failure to read reaches the
 * decider.
 */
import { describe, expect, it } from 'vitest';
import { bodyLines, linesAtHand, READ_AHEAD_LINES } from '../../src/http/decision-stream.js';
import type { BodyLine } from '../../src/http/ndjson-lines.js';

/** A body of `chunks` chunks of `perChunk` lines each, counting the chunks read. */
function countedBody(chunks: number, perChunk: number): { body: AsyncIterable<Buffer>; read: () => number } {
  let read = 0;
  return {
    read: () => read,
    body: {
      async *[Symbol.asyncIterator]() {
        for (let c = 0; c < chunks; c++) {
          read++;
          yield Buffer.from(Array.from({ length: perChunk }, (_, i) => `{"n":${c * perChunk + i}}\n`).join(''));
        }
      },
    },
  };
}

const texts = (lines: BodyLine[]) => lines.map((line) => ('text' in line ? line.text : line.unreadable));
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('bodyLines', () => {
  it('gives every line once, in order, taking only what has arrived', async () => {
    const { body } = countedBody(7, 50);
    const source = bodyLines(body);
    expect(source.take(10)).toEqual([]);
    const taken: BodyLine[] = [];
    while (await source.arrival()) taken.push(...source.take(64));
    expect(texts(taken)).toEqual(Array.from({ length: 350 }, (_, n) => `{"n":${n}}`));
    expect(taken.map((line) => line.line)).toEqual(Array.from({ length: 350 }, (_, n) => n + 1));
    expect(source.take(10)).toEqual([]);
  });

  it('reads ahead while fewer than READ_AHEAD_LINES lines wait, and no further', async () => {
    const perChunk = 40;
    const { body, read } = countedBody(100, perChunk);
    const source = bodyLines(body);
    expect(await source.arrival()).toBe(true);
    await settle();
    // Chunks until READ_AHEAD_LINES wait, nothing taken meanwhile.
    expect(read()).toBe(Math.ceil(READ_AHEAD_LINES / perChunk));
    await settle();
    expect(read()).toBe(Math.ceil(READ_AHEAD_LINES / perChunk));
    // Taking lines lets it read on, up to the same bound.
    expect(source.take(100)).toHaveLength(100);
    await settle();
    expect(read()).toBe(Math.ceil((READ_AHEAD_LINES + 100) / perChunk));
  });

  it('ends with a last line that has no line break', async () => {
    const source = bodyLines(
      (async function* () {
        yield Buffer.from('{"a":1}\n{"b"');
        yield Buffer.from(':2}');
      })(),
    );
    const taken: BodyLine[] = [];
    while (await source.arrival()) taken.push(...source.take(10));
    expect(texts(taken)).toEqual(['{"a":1}', '{"b":2}']);
    expect(await source.arrival()).toBe(false);
  });

  it('throws what reading the body threw, once the lines read before are taken', async () => {
    const source = bodyLines(
      (async function* () {
        yield Buffer.from('{"a":1}\n');
        throw new Error('the client went away');
      })(),
    );
    expect(await source.arrival()).toBe(true);
    await settle();
    expect(texts(source.take(10))).toEqual(['{"a":1}']);
    expect(() => source.take(10)).toThrow('the client went away');
    await expect(source.arrival()).rejects.toThrow('the client went away');
  });
});

describe('linesAtHand', () => {
  it('gives the lines in takes of at most the size asked, then ends', async () => {
    const lines: BodyLine[] = Array.from({ length: 5 }, (_, i) => ({ line: i + 1, text: String(i) }));
    const source = linesAtHand(lines);
    expect(await source.arrival()).toBe(true);
    expect(texts(source.take(3))).toEqual(['0', '1', '2']);
    expect(texts(source.take(3))).toEqual(['3', '4']);
    expect(await source.arrival()).toBe(false);
    expect(source.take(3)).toEqual([]);
  });
});
