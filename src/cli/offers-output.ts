/**
 * What `nextbest offers` writes: decisions as NDJSON, or CSV with one row per
 * served item; and the file writer under both, which counts the bytes it has
 * written so a run can be resumed from a recipient boundary.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

export type OutputFormat = 'csv' | 'ndjson';

/** The fixed CSV columns; one column per catalog item field follows them. */
export const CSV_COLUMNS = ['customerId', 'placement', 'position', 'item', 'rule', 'fallback', 'decisionId'] as const;

/**
 * A decision, loosely: only what the rows need. Either read back from the
 * stream's JSON (--url) or the Decision object itself (local mode): the rows
 * are the same, since a decision's values are JSON values.
 */
export interface AnsweredDecision {
  decisionId: string;
  customerId: string;
  placements: Record<string, { items: ReadonlyArray<Readonly<Record<string, unknown>>>; fallback: boolean }>;
}

export interface OutputEncoder {
  /** What the file starts with. */
  header(): string;
  /** The text for decisions, each given as its JSON text and parsed, and how many rows it holds. */
  rows(decisions: ReadonlyArray<{ text: string; decision: AnsweredDecision }>): { text: string; count: number };
  /** The text for one decision and how many rows it holds; `json` makes its JSON text when the format needs it. */
  decisionRows(decision: AnsweredDecision, json: () => string): { text: string; count: number };
}

export function outputEncoder(format: OutputFormat, itemFields: readonly string[]): OutputEncoder {
  if (format === 'ndjson') {
    return {
      header: () => '',
      rows: (decisions) => ({ text: decisions.map((d) => `${d.text}\n`).join(''), count: decisions.length }),
      decisionRows: (_decision, json) => ({ text: `${json()}\n`, count: 1 }),
    };
  }
  /**
   * The item fields' cells of a served item, kept beside it: local mode
   * serves the same frozen item objects over and over (src/decide/arbitrate.ts).
   * Items parsed from JSON are new each time, and not kept.
   */
  const itemCells = new WeakMap<object, string>();
  const cellsOf = (item: Readonly<Record<string, unknown>>): string => {
    let cells = itemCells.get(item);
    if (cells === undefined) {
      cells = '';
      for (const field of itemFields) cells += `,${csvField(cell(item[field]))}`;
      if (Object.isFrozen(item)) itemCells.set(item, cells);
    }
    return cells;
  };
  const decisionRows = (decision: AnsweredDecision): { text: string; count: number } => {
    let text = '';
    let count = 0;
    const customer = csvField(decision.customerId);
    const id = csvField(decision.decisionId);
    for (const placement in decision.placements) {
      const { items, fallback } = decision.placements[placement] as AnsweredDecision['placements'][string];
      const name = csvField(placement);
      for (let index = 0; index < items.length; index++) {
        const item = items[index] as Readonly<Record<string, unknown>>;
        const rule = item.rule == null ? '' : csvField(String(item.rule));
        text += `${customer},${name},${index + 1},${csvField(String(item.id))},${rule},${String(fallback)},${id}${cellsOf(item)}\n`;
        count++;
      }
    }
    return { text, count };
  };
  return {
    header: () => csvRecord([...CSV_COLUMNS, ...itemFields]),
    rows(decisions) {
      let text = '';
      let count = 0;
      for (const { decision } of decisions) {
        const rows = decisionRows(decision);
        text += rows.text;
        count += rows.count;
      }
      return { text, count };
    },
    decisionRows: (decision) => decisionRows(decision),
  };
}

/**
 * What needs quoting in a field: the delimiter, the quote, a line break. The
 * rules csv-stringify applies with its defaults (delimiter ",", quote and
 * escape '"', records ended by "\n", no BOM), written out for the fixed
 * columns: it cost about 8 µs a row of 26 cells, most of a row's time.
 * test/unit/offers-output.test.ts checks this writer against csv-stringify
 * byte for byte, and its output against csv-parse, on generated text.
 */
const NEEDS_QUOTES = /[",\n\r]/;

/** One CSV field. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV record, with its line end. */
export function csvRecord(fields: readonly string[]): string {
  let text = '';
  for (let i = 0; i < fields.length; i++) text += `${i > 0 ? ',' : ''}${csvField(fields[i] as string)}`;
  return `${text}\n`;
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
  write(part: string | Uint8Array): void;
  /** Bytes waiting in memory (characters, for text). */
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
  let parts: Array<string | Uint8Array> = [];
  let pending = 0;
  let written = start;
  return {
    get bytes() {
      return written;
    },
    get pending() {
      return pending;
    },
    write(part) {
      if (part.length === 0) return;
      parts.push(part);
      pending += part.length;
    },
    async flush() {
      if (parts.length === 0) return;
      const bytes = Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));
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
