/**
 * What `nextbest offers` writes: decisions as NDJSON, or CSV with one row per
 * served item; and the file writer under both, which counts the bytes it has
 * written so a run can be resumed from a recipient boundary.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';

export type OutputFormat = 'csv' | 'ndjson';

/** The fixed CSV columns; one column per catalog item field follows them. */
export const CSV_COLUMNS = ['customerId', 'placement', 'position', 'item', 'rule', 'fallback', 'decisionId'] as const;

/** A decision as read back from the stream, loosely: only what the rows need. */
export interface AnsweredDecision {
  decisionId: string;
  customerId: string;
  placements: Record<string, { items: Array<Record<string, unknown>>; fallback: boolean }>;
}

export interface OutputEncoder {
  /** What the file starts with. */
  header(): string;
  /** The text for decisions, each given as its JSON text and parsed, and how many rows it holds. */
  rows(decisions: ReadonlyArray<{ text: string; decision: AnsweredDecision }>): { text: string; count: number };
}

export function outputEncoder(format: OutputFormat, itemFields: readonly string[]): OutputEncoder {
  if (format === 'ndjson') {
    return { header: () => '', rows: (decisions) => ({ text: decisions.map((d) => `${d.text}\n`).join(''), count: decisions.length }) };
  }
  return {
    header: () => stringify([[...CSV_COLUMNS, ...itemFields]]),
    rows(decisions) {
      const rows: string[][] = [];
      for (const { decision } of decisions) {
        for (const [placement, { items, fallback }] of Object.entries(decision.placements)) {
          items.forEach((item, index) => {
            const row = [decision.customerId, placement, String(index + 1), String(item.id), item.rule == null ? '' : String(item.rule), String(fallback), decision.decisionId];
            for (const field of itemFields) row.push(cell(item[field]));
            rows.push(row);
          });
        }
      }
      return { text: rows.length > 0 ? stringify(rows) : '', count: rows.length };
    },
  };
}

/** A catalog value as a cell: text as it is, lists and objects as JSON, nothing for absent or null. */
function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Text written in large pieces, counting the bytes that have reached the file. */
export interface CountingWriter {
  /** Bytes written and flushed (to the OS: they survive the process, not the machine). */
  readonly bytes: number;
  write(text: string): void;
  /** Bytes waiting in memory. */
  readonly pending: number;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A file, created, or (resuming) cut back to `keepBytes` and appended to. */
export async function fileWriter(path: string, keepBytes: number | null): Promise<CountingWriter> {
  let handle: FileHandle;
  if (keepBytes === null) handle = await open(path, 'w');
  else {
    handle = await open(path, 'r+');
    await handle.truncate(keepBytes);
  }
  let position = keepBytes ?? 0;
  return buffered(
    async (bytes) => {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position);
        offset += bytesWritten;
        position += bytesWritten;
      }
    },
    () => handle.close(),
    keepBytes ?? 0,
  );
}

/** Standard output (or any stream), waiting for it to drain. */
export function streamWriter(stream: Writable): CountingWriter {
  return buffered(
    (bytes) =>
      new Promise<void>((resolve, reject) => {
        stream.write(bytes, (err) => (err ? reject(err) : resolve()));
      }),
    async () => undefined,
    0,
  );
}

function buffered(sink: (bytes: Buffer) => Promise<void>, close: () => Promise<void>, start: number): CountingWriter {
  let parts: string[] = [];
  let pending = 0;
  let written = start;
  return {
    get bytes() {
      return written;
    },
    get pending() {
      return pending;
    },
    write(text) {
      if (text === '') return;
      parts.push(text);
      pending += text.length;
    },
    async flush() {
      if (parts.length === 0) return;
      const bytes = Buffer.from(parts.join(''), 'utf8');
      parts = [];
      pending = 0;
      await sink(bytes);
      written += bytes.length;
    },
    async close() {
      await this.flush();
      await close();
    },
  };
}
