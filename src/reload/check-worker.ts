/**
 * The reload worker's entry: reads and checks the rules folder off the event
 * loop (check-rules-dir.ts) and answers with plain data. The checked rules go
 * back serialized, one buffer for everything but the placements and one a
 * placement, so that the event loop reads each back within the compile slice
 * that needs it rather than all at once when the answer arrives.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { serialize } from 'node:v8';
import { checkRulesDir, type CheckRulesDirRequest } from './check-rules-dir.js';
import type { CheckAnswer, WorkerAnswer, WorkerQuestion } from './rules-loader.js';

const port = parentPort;
if (!port) throw new Error('check-worker.ts runs as a worker thread');

port.on('message', (question: WorkerQuestion) => {
  void answer(question.request).then(
    (checked) => port.postMessage({ id: question.id, ...checked } satisfies WorkerAnswer),
    (err: unknown) => port.postMessage({ id: question.id, status: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies WorkerAnswer),
  );
});

async function answer(request: CheckRulesDirRequest): Promise<CheckAnswer> {
  const result = await checkRulesDir(request);
  if (result.status === 'unchanged') return result;
  const { checked, ...rest } = result;
  if (!checked) return { ...rest, base: null, placements: [], threadId };
  const { placements, ...base } = checked;
  return { ...rest, base: serialize(base), placements: placements.map((p) => serialize(p)), threadId };
}
