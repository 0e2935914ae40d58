/**
 * `nextbest offers` in local mode decides in worker threads
 * (src/cli/offers-transport.ts): batches go to the workers in turn and come
 * back in order; a worker that fails, stops or dies ends the run with an
 * error that says so, never a hang. Fake workers (test/fixtures/offers-workers)
 * stand in for the real one, which test/process/offers-cli.test.ts runs.
 */
import { describe, expect, it } from 'vitest';
import { localTransport, OffersError, type AnswerBatch } from '../../src/cli/offers-transport.js';

const FAKE = new URL('../fixtures/offers-workers/fake-worker.mjs', import.meta.url);

/** Request text in chunks of whole lines, as offers sends it. */
async function* chunks(recipients: number, perChunk: number): AsyncGenerator<string> {
  for (let start = 0; start < recipients; start += perChunk) {
    let text = '';
    for (let i = start; i < Math.min(recipients, start + perChunk); i++) text += `{"customerId":"c-${i}"}\n`;
    yield text;
  }
}

async function drain(answers: AsyncIterable<AnswerBatch>): Promise<AnswerBatch[]> {
  const batches: AnswerBatch[] = [];
  for await (const batch of answers) batches.push(batch);
  return batches;
}

describe('offers decision workers', () => {
  it('answers in the order sent whatever worker answers first, line numbers counted across batches', async () => {
    const transport = await localTransport({ FAKE_WORKER: 'echo' }, { workers: 3, workerUrl: FAKE });
    try {
      expect(transport.source).toBe('fake workers');
      const stream = await transport.open(chunks(1000, 7), 'csv');
      expect(stream.itemFields).toEqual(['kind']);
      const batches = await drain(stream.answers);
      expect(batches).toHaveLength(Math.ceil(1000 / 7));
      const rows = batches.flatMap((b) => b.rows);
      expect(rows).toEqual(Array.from({ length: 1000 }, (_, i) => ((i + 1) % 3 === 0 ? -1 : 1)));
      const lines = batches.map((b) => Buffer.from(b.output).toString('utf8')).join('').trim().split('\n');
      expect(lines.map((l) => l.split(',').slice(0, 3).join(','))).toEqual(
        Array.from({ length: 1000 }, (_, i) => i + 1)
          .filter((n) => n % 3 !== 0)
          .map((n) => `${n},c-${n - 1},csv`),
      );
      // Each worker had its turn.
      expect(new Set(lines.map((l) => l.split(',')[3])).size).toBe(3);
      expect(batches.flatMap((b) => b.failures.map((f) => f.detail))).toEqual(Array.from({ length: 333 }, (_, i) => `line ${(i + 1) * 3}`));
    } finally {
      await transport.close();
    }
  });

  it('fails to start with what a worker said when it cannot decide', async () => {
    await expect(localTransport({ FAKE_WORKER: 'fails' }, { workers: 2, workerUrl: FAKE })).rejects.toThrow(
      new OffersError('the rules in /nowhere are invalid'),
    );
  });

  it.each([
    ['exits', /a decision worker stopped with exit code 3 before it had answered/],
    ['throws', /a decision worker failed: out of its mind/],
  ])('ends the run with an error when a worker %s midway, rather than waiting for it', async (mode, message) => {
    const transport = await localTransport({ FAKE_WORKER: mode }, { workers: 2, workerUrl: FAKE });
    try {
      const stream = await transport.open(chunks(100, 5), 'ndjson');
      const failure = await drain(stream.answers).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(OffersError);
      expect((failure as Error).message).toMatch(message);
    } finally {
      await transport.close();
    }
  });

  it('stops a worker that does not close when asked', async () => {
    const transport = await localTransport({ FAKE_WORKER: 'ignores-close' }, { workers: 1, workerUrl: FAKE, closeTimeoutMs: 100 });
    await drain((await transport.open(chunks(10, 5), 'csv')).answers);
    await transport.close();
  });
});
