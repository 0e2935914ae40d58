/**
 * The messages between `nextbest offers` and its decision workers
 * (offers-transport.ts, offers-worker.ts). Batches, never single rows: each
 * message is a few hundred recipients' request lines one way and their
 * output the other.
 */
import type { Problem } from '../http/problem.js';
import type { RowFailure } from './offers-input.js';
import type { OutputFormat } from './offers-output.js';
import type { CheckedRules } from '../reload/rules-loader.js';

/** What a decision worker is started with. */
export interface WorkerStart {
  /** True: the first message is the checked rules ({ kind: 'rules' }), which the worker compiles rather than checking them itself. */
  rulesFromParent: boolean;
}

export type ToWorker =
  /** The rules the command read and checked once (check-answer.ts), first of all when the worker was started with rulesFromParent. */
  | { kind: 'rules'; rules: CheckedRules }
  /** Request lines, each ending with a line break; `linesBefore`: how many the run sent before them (for line numbers). */
  | { kind: 'batch'; id: number; text: string; linesBefore: number; format: OutputFormat }
  /**
   * The decision name list every worker signs with: the first worker's, sent
   * to all before any batch, so that the workers' ids agree whatever each
   * could read of the store.
   */
  | { kind: 'names'; names: string[] }
  /** No more batches: close the store and end. */
  | { kind: 'close' };

export type FromWorker =
  /** `names`: the decision name list as this worker read it from the store (empty when it could not). */
  | { kind: 'ready'; itemFields: string[]; source: string; names: string[] }
  /**
   * A batch's answers: `rows` has one entry a request line, in order: the rows
   * written for its decision (1 for NDJSON), or -1 when it failed, its
   * failure next in `failures`. `output` is the output of all its decisions,
   * as UTF-8: bytes are copied to the main thread as they are, where a string
   * of many rows had first to be flattened, a tenth of the worker's time.
   */
  | { kind: 'answers'; id: number; output: Uint8Array; rows: number[]; failures: RowFailure[] }
  /** The worker cannot go on (the rules or the store cannot be opened, the first decisions failed). */
  | { kind: 'failed'; message: string };

/** A problem answering a recipient, as the errors file says it. */
export function failureOf(problem: Pick<Problem, 'status' | 'title' | 'detail'> | Record<string, unknown>): RowFailure {
  return { status: Number(problem.status), title: String(problem.title ?? 'Failed'), detail: String(problem.detail ?? '') };
}
