/**
 * A decision worker of `nextbest offers` in local mode (a worker thread; see
 * offers-transport.ts). It opens the rules and the store as `serve` does,
 * decides each batch of request lines as the stream route decides a body's
 * lines (lineDecider), and writes the answers straight into the output's
 * text, CSV rows or NDJSON decisions, so that nothing is turned into JSON
 * and read back, and the main thread only reads recipients and writes files.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MAX_STREAM_LINE_BYTES } from '../domain/decision-stream.js';
import { decisionJson } from '../http/decision-json.js';
import { catalogItemFields, encodeLines, lineDecider, linesAtHand } from '../http/decision-stream.js';
import { NdjsonLineSplitter, type BodyLine } from '../http/ndjson-lines.js';
import { OffersError } from './offers-error.js';
import type { CheckedRules } from '../reload/rules-loader.js';
import { failureOf, type FromWorker, type ToWorker, type WorkerStart } from './offers-protocol.js';
import { openLocalDecisions } from './offers-local.js';
import { outputEncoder, type OutputEncoder } from './offers-output.js';

if (!parentPort) throw new Error('offers-worker.ts runs as a worker thread of nextbest offers');
const port = parentPort;
const post = (message: FromWorker): void => port.postMessage(message);

/** The rules the command checked, its first message when it checks them for every worker. */
function rulesFromParent(): Promise<CheckedRules> {
  return new Promise((resolve) => {
    const take = (message: ToWorker): void => {
      if (message.kind !== 'rules') return;
      port.off('message', take);
      resolve(message.rules);
    };
    port.on('message', take);
  });
}

async function main(): Promise<void> {
  const start = workerData as WorkerStart | undefined;
  let local;
  try {
    local = await openLocalDecisions(process.env, start?.rulesFromParent ? await rulesFromParent() : undefined);
  } catch (err) {
    post({ kind: 'failed', message: err instanceof OffersError ? err.message : `the decisions cannot start: ${(err as Error).message}` });
    return;
  }
  const { deps, snapshot } = local;
  const itemFields = catalogItemFields(snapshot);
  const decide = lineDecider(deps, snapshot);
  const encoders = new Map<string, OutputEncoder>();
  // One batch at a time, in the order they came: lineDecider's groups follow one another.
  let queue = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    if (message.kind === 'names') {
      local.names.adopt(message.names);
      return;
    }
    if (message.kind === 'rules') return;
    if (message.kind === 'close') {
      queue = queue.then(async () => {
        await local.close();
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      let encoder = encoders.get(message.format);
      if (!encoder) encoders.set(message.format, (encoder = outputEncoder(message.format, itemFields)));
      const lines: BodyLine[] = [];
      const splitter = new NdjsonLineSplitter(MAX_STREAM_LINE_BYTES, message.linesBefore);
      splitter.push(Buffer.from(message.text, 'utf8'), lines);
      splitter.end(lines);
      const texts: string[] = [];
      const rows: number[] = [];
      const failures = [];
      try {
        for await (const answers of decide(linesAtHand(lines))) {
          for (const answer of answers) {
            if ('problem' in answer) {
              rows.push(-1);
              failures.push(failureOf(answer.problem));
              continue;
            }
            const { decision } = answer;
            const written = encoder.decisionRows(decision, () => decisionJson(decision));
            texts.push(written.text);
            rows.push(written.count);
          }
        }
      } catch (err) {
        // Before any answer (lineDecider's rule): the run cannot go on.
        post({ kind: 'failed', message: `the decisions failed: ${(err as Error).message}` });
        return;
      }
      post({ kind: 'answers', id: message.id, output: encodeLines(texts), rows, failures });
    });
  });
  const names: string[] = [];
  for (let n = 0; n < local.names.size; n++) names.push(local.names.nameOf(n) as string);
  post({ kind: 'ready', itemFields, source: local.source, names });
}

void main();
