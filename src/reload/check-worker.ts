/**
 * The reload worker's entry: reads and checks the rules folder off the event
 * loop and answers with plain data (check-answer.ts).
 */
import { parentPort } from 'node:worker_threads';
import { checkAnswer } from './check-answer.js';
import type { WorkerAnswer, WorkerQuestion } from './rules-loader.js';

const port = parentPort;
if (!port) throw new Error('check-worker.ts runs as a worker thread');

port.on('message', (question: WorkerQuestion) => {
  void checkAnswer(question.request).then(
    (checked) => port.postMessage({ id: question.id, ...checked } satisfies WorkerAnswer),
    (err: unknown) => port.postMessage({ id: question.id, status: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies WorkerAnswer),
  );
});
