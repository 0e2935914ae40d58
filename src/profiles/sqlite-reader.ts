/**
 * The SQLite store's reader thread: groups of customers read for decisions
 * (the decision stream, batches) on another core, with its own read-only
 * connection, while the store's thread goes on deciding. better-sqlite3 is
 * synchronous, so a read on the store's thread holds everything else up; a
 * 128-customer group of 60-touchpoint profiles is about a quarter of the
 * stream's time.
 *
 * Started on the first group read and kept; it holds the process open only
 * while a read is under way. When it fails or stops, the reads it had in hand
 * fail with ReaderFailedError (the store reads them itself) and the next group
 * read starts a new one.
 */
import type { Worker } from 'node:worker_threads';
import { moduleBeside, startModuleWorker } from '../worker-thread.js';
import type { DecisionGroup } from './sqlite-decision-read.js';

export interface ReaderSettings {
  path: string;
  busyTimeoutMs: number;
}

export interface ReaderRequest {
  id: number;
  customerIds: readonly string[];
  oldestKept: number;
}

export type ReaderAnswer =
  | { id: number; group: DecisionGroup }
  /** A customer's view could not be read (the message says why). */
  | { id: number; dataError: string }
  /** SQLite's own error, to be judged as the store's thread judges them. */
  | { id: number; sqliteError: { code: string; message: string } };

/** The thread failed or stopped before answering; nothing is known about the read. */
export class ReaderFailedError extends Error {}

export interface SqliteReader {
  read(customerIds: readonly string[], oldestKept: number): Promise<ReaderAnswer>;
  close(): Promise<void>;
}

const WORKER_URL = moduleBeside(import.meta.url, 'sqlite-reader-worker');

export function createSqliteReader(settings: ReaderSettings, onFailure: (error: Error) => void): SqliteReader {
  let worker: Worker | null = null;
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, { resolve: (answer: ReaderAnswer) => void; reject: (error: Error) => void }>();

  const start = (): Worker => {
    // What it allocates lives for one group (a few hundred KiB): a small young generation does, and keeps its RSS down.
    const w = startModuleWorker(WORKER_URL, { workerData: settings, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    const fail = (error: Error): void => {
      if (worker !== w) return;
      worker = null;
      const failure = new ReaderFailedError(`the SQLite reader thread failed: ${error.message}`, { cause: error });
      for (const waiting of pending.values()) waiting.reject(failure);
      pending.clear();
      if (!closed) onFailure(failure);
    };
    w.on('message', (answer: ReaderAnswer | { ready: true }) => {
      if (!('id' in answer)) return;
      const waiting = pending.get(answer.id);
      pending.delete(answer.id);
      if (pending.size === 0) w.unref();
      waiting?.resolve(answer);
    });
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`it stopped (exit code ${code})`)));
    return w;
  };

  return {
    read(customerIds, oldestKept) {
      if (closed) return Promise.reject(new ReaderFailedError('the SQLite reader thread is closed'));
      worker ??= start();
      const w = worker;
      const id = nextId++;
      return new Promise<ReaderAnswer>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, customerIds, oldestKept } satisfies ReaderRequest);
      });
    },
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      for (const waiting of pending.values()) waiting.reject(new ReaderFailedError('the SQLite reader thread was closed'));
      pending.clear();
      await w?.terminate();
    },
  };
}
