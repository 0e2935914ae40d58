/**
 * Where a reload reads and checks the rules folder: in a worker thread, so a
 * large folder never stalls requests (and /healthz) while it loads. The
 * registry compiles the result on the event loop, in slices.
 */
import { deserialize } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import type { RuleError } from '../domain/rule-files.js';
import type { CheckedBase, PlacementDraft } from '../ruleset/check.js';
import type { CheckedParts } from '../ruleset/compile.js';
import type { CheckRulesDirRequest } from './check-rules-dir.js';
import { moduleBeside, startModuleWorker } from '../worker-thread.js';

export type LoadedRules =
  | { status: 'unchanged' }
  | {
      status: 'checked';
      /** The content key to pass as `unlessKey` next time. */
      key: string;
      version: string;
      errors: RuleError[];
      warnings: RuleError[];
      /** The checked rules, ready to compile; null when there is any error. */
      parts: CheckedParts | null;
      /** The thread that read and checked the files. */
      threadId: number;
    };

export interface RulesLoader {
  load(request: CheckRulesDirRequest): Promise<LoadedRules>;
}

/** A request to the worker, and its answer (check-worker.ts). */
export interface WorkerQuestion {
  id: number;
  request: CheckRulesDirRequest;
}

export type WorkerAnswer = { id: number } & CheckAnswer;

/** A check that ran: its rules (or their errors), as the check thread answers and `nextbest offers` hands its workers. */
export type CheckedRules = Exclude<CheckAnswer, { status: 'failed' }>;

export type CheckAnswer =
  | { status: 'unchanged' }
  | { status: 'failed'; message: string }
  | {
      status: 'checked';
      key: string;
      version: string;
      errors: RuleError[];
      warnings: RuleError[];
      /** v8.serialize of CheckedBase, and of each PlacementDraft; null and [] with errors. */
      base: Uint8Array | null;
      placements: Uint8Array[];
      threadId: number;
    };

/**
 * Reads and checks in one worker thread, started on first use and kept for
 * the next reload (starting one costs more than a small reload). It holds the
 * process open only while a load is under way; one that dies is replaced on
 * the next load, and the loads it had in hand fail (the last good rules keep
 * serving).
 */
export function createWorkerLoader(): RulesLoader {
  let worker: Worker | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (loaded: LoadedRules) => void; reject: (err: Error) => void }>();

  const start = (): Worker => {
    const w = spawnCheckWorker();
    const fail = (err: Error): void => {
      if (worker === w) worker = null;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    w.on('message', (answer: WorkerAnswer) => {
      const waiting = pending.get(answer.id);
      pending.delete(answer.id);
      if (pending.size === 0) w.unref();
      if (!waiting) return;
      if (answer.status === 'failed') waiting.reject(new Error(answer.message));
      else {
        const { id: _id, ...checkAnswer } = answer;
        waiting.resolve(fromAnswer(checkAnswer));
      }
    });
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the rules worker stopped (exit code ${code})`)));
    return w;
  };

  return {
    load(request) {
      worker ??= start();
      const w = worker;
      const id = nextId++;
      return new Promise<LoadedRules>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, request } satisfies WorkerQuestion);
      });
    },
  };
}

/**
 * A loader that answers every load with rules read and checked before
 * (check-answer.ts): `nextbest offers`' decision workers compile the rules the
 * command checked once, rather than each reading and checking them again.
 */
export function checkedLoader(answer: CheckedRules): RulesLoader {
  return { load: async () => fromAnswer(answer) };
}

function fromAnswer(answer: CheckedRules): LoadedRules {
  if (answer.status === 'unchanged') return { status: 'unchanged' };
  const { base, placements, ...rest } = answer;
  const parts: CheckedParts | null = base && {
    base: () => deserialize(base) as CheckedBase,
    placements: placements.map((bytes) => () => deserialize(bytes) as PlacementDraft),
  };
  return { ...rest, parts };
}

/** The worker runs check-worker next to this module, TypeScript or built as this module is (src/worker-thread.ts). */
function spawnCheckWorker(): Worker {
  return startModuleWorker(moduleBeside(import.meta.url, 'check-worker'));
}
