/**
 * The SQLite store's reader thread (sqlite-reader.ts): its own read-only
 * connection to the file, answering group reads for decisions one at a time,
 * in the order asked. WAL lets it read while the store's thread writes; each
 * group is read in one transaction, so it sees every write committed before
 * the group was asked for.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareDecisionStatements, readDecisionGroup } from './sqlite-decision-read.js';
import type { ReaderAnswer, ReaderRequest, ReaderSettings } from './sqlite-reader.js';

if (!parentPort) throw new Error('sqlite-reader-worker.ts runs as the SQLite store reader thread');
const port = parentPort;
const settings = workerData as ReaderSettings;

const db = new Database(settings.path, { readonly: true, fileMustExist: true });
db.pragma(`busy_timeout = ${Math.trunc(settings.busyTimeoutMs)}`);
// 2 MiB of pages, not the 16 the store's connection keeps: a pass over a send reads each customer once, so pages
// come back only for the B-trees' inner levels, and a larger cache only added to the service's RSS.
db.pragma('cache_size = -2000');
const statements = prepareDecisionStatements(db);
const readGroup = db.transaction(readDecisionGroup);

port.on('message', (request: ReaderRequest) => {
  let answer: ReaderAnswer;
  try {
    const group = readGroup(statements, request.customerIds, request.oldestKept);
    answer = { id: request.id, group };
    port.postMessage(answer, [group.names.buffer as ArrayBuffer, group.at.buffer as ArrayBuffer]);
    return;
  } catch (error) {
    const { message } = error as Error;
    answer =
      error instanceof Database.SqliteError ? { id: request.id, sqliteError: { code: error.code, message } } : { id: request.id, dataError: message };
  }
  port.postMessage(answer);
});

port.postMessage({ ready: true });
