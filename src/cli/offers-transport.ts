/**
 * Where `nextbest offers` gets its decisions: the stream route
 * (POST /v1/decisions/stream) of a running service (`--url`), or decision
 * workers in this process (worker threads, offers-worker.ts) over the rules
 * and the store as `serve` reads them. Both decide with lineDecider, what
 * the stream route runs, so the two modes answer alike, columns included.
 * Either way the answers come back as batches of output text with what each
 * recipient came to.
 */
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Worker } from 'node:worker_threads';
import { ITEM_FIELDS_HEADER, NDJSON_TYPE } from '../domain/decision-stream.js';
import { NdjsonLineSplitter, type BodyLine } from '../http/ndjson-lines.js';
import { OffersError } from './offers-error.js';
import type { RowFailure } from './offers-input.js';
import { outputEncoder, type AnsweredDecision, type OutputFormat } from './offers-output.js';
import type { CheckedRules } from '../reload/rules-loader.js';
import { failureOf, type FromWorker, type ToWorker, type WorkerStart } from './offers-protocol.js';
import { moduleBeside, startModuleWorker } from '../worker-thread.js';

export { OffersError } from './offers-error.js';

/** Answers to consecutive requests, in order. */
export interface AnswerBatch {
  /** One entry a request: the rows its decision came to (1 a decision for NDJSON), or -1 when it failed, its failure next in `failures`. */
  rows: readonly number[];
  failures: readonly RowFailure[];
  /** The output for the decisions among them, in the format asked for: text, or its UTF-8. */
  output: string | Uint8Array;
}

export interface DecisionStream {
  /** The catalog item fields of the rules deciding, in order (the CSV's extra columns). */
  itemFields: string[];
  answers: AsyncIterable<AnswerBatch>;
}

export interface Transport {
  /** Where the decisions come from, for messages. */
  readonly source: string;
  /** Starts a stream of request lines (each chunk whole lines); `body` is read only as fast as the answers are. */
  open(body: AsyncIterable<string>, format: OutputFormat): Promise<DecisionStream>;
  close(): Promise<void>;
}

export interface LocalTransportOptions {
  /** Decision workers; default: one per core, at most 2 (the main thread reads and writes on the side). */
  workers?: number;
  /** The worker's script; tests give one that misbehaves. */
  workerUrl?: URL;
  /** How long `close` waits for a worker to close its store before stopping it. */
  closeTimeoutMs?: number;
  /**
   * The rules checked once for the run (checkRulesOnce), given to every
   * worker to compile; absent, each worker reads and checks the folder itself.
   * The workers start while it is under way.
   */
  rules?: Promise<CheckedRules>;
}

/** Batches sent to each worker ahead of the answers taken: one deciding, one waiting. */
const BATCHES_AHEAD_PER_WORKER = 2;

/** The worker script beside this file, as TypeScript when run from src/, else built (src/worker-thread.ts). */
const DEFAULT_WORKER_URL = moduleBeside(import.meta.url, 'offers-worker');

/**
 * Decision workers in this process, configured from the environment as
 * `serve` is. Batches go to the workers in turn and their answers are taken
 * in the same order, so the output is in the input's order whatever the
 * number of workers. A worker that fails, or stops before it has answered
 * what it was sent, fails the run with what it said or its exit code.
 */
export async function localTransport(env: NodeJS.ProcessEnv, options: LocalTransportOptions = {}): Promise<Transport> {
  const count = Math.max(1, options.workers ?? Math.min(2, os.availableParallelism()));
  // Awaited below, once the workers are started; a failure before then must not count as unhandled.
  options.rules?.catch(() => undefined);
  const start: WorkerStart = { rulesFromParent: options.rules !== undefined };
  const workers = Array.from({ length: count }, () => new DecisionWorker(options.workerUrl ?? DEFAULT_WORKER_URL, env, start));
  let ready: Array<Extract<FromWorker, { kind: 'ready' }>>;
  try {
    if (options.rules) {
      const rules = await options.rules.catch((err: unknown) => {
        throw err instanceof OffersError ? err : new OffersError(`the rules cannot be read: ${(err as Error).message}`);
      });
      for (const worker of workers) worker.give(rules);
    }
    ready = await Promise.all(workers.map((worker) => worker.ready));
  } catch (err) {
    await Promise.all(workers.map((worker) => worker.stop()));
    throw err;
  }
  const first = ready[0] as (typeof ready)[number];
  // One name list for every worker: the longest read (the store's list only grows, so the others are its start).
  const names = ready.reduce((longest, worker) => (worker.names.length > longest.length ? worker.names : longest), first.names);
  for (const worker of workers) worker.share(names);
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  return {
    source: first.source,
    async open(body, format) {
      return { itemFields: first.itemFields, answers: workerAnswers(workers, body, format) };
    },
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close(closeTimeoutMs)));
    },
  };
}

async function* workerAnswers(workers: readonly DecisionWorker[], body: AsyncIterable<string>, format: OutputFormat): AsyncGenerator<AnswerBatch> {
  const requests = body[Symbol.asyncIterator]();
  const ahead: Array<Promise<AnswerBatch>> = [];
  let sent = 0;
  let linesSent = 0;
  let bodyDone = false;
  try {
    for (;;) {
      while (!bodyDone && ahead.length < workers.length * BATCHES_AHEAD_PER_WORKER) {
        const next = await requests.next();
        if (next.done) {
          bodyDone = true;
          break;
        }
        const worker = workers[sent % workers.length] as DecisionWorker;
        ahead.push(worker.decide({ kind: 'batch', id: sent, text: next.value, linesBefore: linesSent, format }));
        sent++;
        linesSent += countLines(next.value);
      }
      const answers = ahead.shift();
      if (!answers) return;
      yield await answers;
    }
  } finally {
    await requests.return?.();
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/** One worker thread and the batches it has not answered yet. */
class DecisionWorker {
  readonly ready: Promise<Extract<FromWorker, { kind: 'ready' }>>;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (answers: AnswerBatch) => void; reject: (err: Error) => void }>();
  #failure: OffersError | null = null;
  #exited = false;
  readonly #exit: Promise<void>;

  constructor(url: URL, env: NodeJS.ProcessEnv, start: WorkerStart) {
    this.#worker = startModuleWorker(url, { env, workerData: start });
    let resolveReady!: (ready: Extract<FromWorker, { kind: 'ready' }>) => void;
    let rejectReady!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // Whoever waits for it sees the failure; nobody may, when another worker failed first.
    this.ready.catch(() => undefined);
    const fail = (failure: OffersError): void => {
      this.#failure ??= failure;
      rejectReady(this.#failure);
      for (const waiting of this.#waiting.values()) waiting.reject(this.#failure);
      this.#waiting.clear();
    };
    this.#worker.on('message', (message: FromWorker) => {
      if (message.kind === 'ready') resolveReady(message);
      else if (message.kind === 'failed') {
        fail(new OffersError(message.message));
        void this.#worker.terminate();
      } else {
        const waiting = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        waiting?.resolve({ rows: message.rows, failures: message.failures, output: message.output });
      }
    });
    this.#worker.on('error', (err) => fail(new OffersError(`a decision worker failed: ${err.message}`)));
    this.#exit = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#exited = true;
        fail(new OffersError(`a decision worker stopped with exit code ${code} before it had answered`));
        resolve();
      });
    });
  }

  /** The rules checked for the run, which the worker waits for when started with rulesFromParent. */
  give(rules: CheckedRules): void {
    if (!this.#failure) this.#worker.postMessage({ kind: 'rules', rules } satisfies ToWorker);
  }

  /** The name list to sign with; sent before any batch, so it applies to all. */
  share(names: string[]): void {
    if (!this.#failure) this.#worker.postMessage({ kind: 'names', names } satisfies ToWorker);
  }

  decide(batch: Extract<ToWorker, { kind: 'batch' }>): Promise<AnswerBatch> {
    if (this.#failure) return Promise.reject(this.#failure);
    const answers = new Promise<AnswerBatch>((resolve, reject) => this.#waiting.set(batch.id, { resolve, reject }));
    // Taken in order by workerAnswers: one that fails while an earlier one is awaited must not go unhandled.
    answers.catch(() => undefined);
    this.#worker.postMessage(batch satisfies ToWorker);
    return answers;
  }

  /** Asks the worker to close its store and end; stops it if it has not within `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#exited) return;
    this.#worker.postMessage({ kind: 'close' } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([this.#exit, late]);
    clearTimeout(timer);
    if (outcome === 'late') await this.stop();
  }

  async stop(): Promise<void> {
    if (!this.#exited) await this.#worker.terminate();
  }
}

/** The NDJSON answer of a stream route, as batches: decisions written in the format asked for, problems as failures. */
async function* remoteAnswers(answers: AsyncIterable<Uint8Array>, format: OutputFormat, itemFields: readonly string[]): AsyncGenerator<AnswerBatch> {
  const encoder = outputEncoder(format, itemFields);
  const splitter = new NdjsonLineSplitter(Number.MAX_SAFE_INTEGER);
  const lines: BodyLine[] = [];
  for await (const chunk of answers) {
    splitter.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), lines);
    const rows: number[] = [];
    const failures: RowFailure[] = [];
    let text = '';
    for (const entry of lines) {
      if ('unreadable' in entry) throw new OffersError(`the service's answer line ${entry.line} cannot be read`);
      const answer = readAnswer(entry.text, format);
      if (answer.kind === 'problem') {
        rows.push(-1);
        failures.push(answer.failure);
        continue;
      }
      const written = encoder.decisionRows(answer.decision, () => entry.text);
      text += written.text;
      rows.push(written.count);
    }
    lines.length = 0;
    if (rows.length > 0) yield { rows, failures, output: text };
  }
}

type Answer = { kind: 'decision'; decision: AnsweredDecision } | { kind: 'problem'; failure: RowFailure };

const NOT_PARSED = null as unknown as AnsweredDecision;

/** An answer line: a decision (parsed only when its rows need it) or a problem. */
function readAnswer(text: string, format: OutputFormat): Answer {
  // decisionJson writes the decision's own fields first; a problem begins with its type.
  if (format === 'ndjson' && text.startsWith('{"decisionId":')) return { kind: 'decision', decision: NOT_PARSED };
  const value = JSON.parse(text) as Record<string, unknown>;
  if (typeof value.decisionId === 'string') return { kind: 'decision', decision: value as unknown as AnsweredDecision };
  return { kind: 'problem', failure: failureOf(value) };
}

/** A running service's stream route. */
export function remoteTransport(url: string, apiKey: string | undefined): Transport {
  let base: URL;
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new OffersError(`--url must be an http:// or https:// address (got ${JSON.stringify(url)})`);
  }
  const target = new URL('v1/decisions/stream', base);
  return {
    source: base.origin,
    open(body, format) {
      return new Promise<DecisionStream>((resolve, reject) => {
        const client = target.protocol === 'https:' ? https : http;
        const headers: Record<string, string> = { 'Content-Type': NDJSON_TYPE, 'Transfer-Encoding': 'chunked' };
        if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
        const request = client.request(target, { method: 'POST', headers });
        let answered = false;
        request.on('response', (res) => {
          answered = true;
          if (res.statusCode !== 200) {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (part: string) => (text += part.length < 4096 ? part : ''));
            res.on('end', () => reject(new OffersError(`${base.origin} answered ${res.statusCode}: ${problemTextOf(text)}`)));
            res.on('error', () => reject(new OffersError(`${base.origin} answered ${res.statusCode}`)));
            return;
          }
          const fields = res.headers[ITEM_FIELDS_HEADER.toLowerCase()];
          let itemFields: string[];
          try {
            itemFields = parseItemFields(typeof fields === 'string' ? fields : null);
          } catch (err) {
            reject(err);
            res.destroy();
            return;
          }
          resolve({ itemFields, answers: remoteAnswers(res, format, itemFields) });
        });
        request.on('error', (err) => {
          if (!answered) reject(new OffersError(`cannot reach ${base.origin}: ${err.message}`));
        });
        pipeline(Readable.from(body), request).catch((err: Error) => {
          // The answer stream fails too (the connection is gone); this says why when it is the request's side.
          if (!answered) reject(new OffersError(`sending to ${base.origin} failed: ${err.message}`));
          else request.destroy(err);
        });
      });
    },
    close: async () => undefined,
  };
}

function parseItemFields(header: string | null): string[] {
  if (header === null) throw new OffersError(`the service did not name the catalog item fields (${ITEM_FIELDS_HEADER}): is it a version with the decision stream?`);
  return header === '' ? [] : header.split(',').map((name) => decodeURIComponent(name));
}

function problemTextOf(text: string): string {
  try {
    const problem = JSON.parse(text) as { title?: string; detail?: string };
    return [problem.title, problem.detail].filter(Boolean).join(': ') || text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
