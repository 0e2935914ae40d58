/**
 * The recipients of `nextbest offers`, read from CSV (a `customerId` column,
 * the others into `context`) or NDJSON decision requests, each turned into
 * the decision request line the stream route reads. A row that cannot become
 * a request (a CSV row with the wrong number of fields, an NDJSON line that
 * is not JSON) is a recipient that failed here, in its place.
 */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { MAX_STREAM_LINE_BYTES } from '../domain/decision-stream.js';
import { FORBIDDEN_KEYS, isPlainObject } from '../domain/json.js';
import { NdjsonLineSplitter, type BodyLine } from '../http/ndjson-lines.js';

export type InputFormat = 'csv' | 'ndjson';

export interface RowFailure {
  status: number;
  title: string;
  detail: string;
}

export interface Recipient {
  /** The input line it starts on, from 1 (a CSV's header is line 1). */
  line: number;
  customerId: string | null;
  /** The decision request to send, one NDJSON line with its line break; absent when `failure` says why not. */
  request?: string;
  failure?: RowFailure;
}

/** The input cannot be read at all (no customerId column, a quote never closed): the run stops. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** The format a file's name says, or null to look at its first bytes. */
export function formatOfName(name: string): InputFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  return null;
}

/**
 * The recipients of a byte stream, in order. `placements` go into every CSV
 * row's request and into each NDJSON request that names none.
 */
export async function* readRecipients(source: AsyncIterable<Buffer>, format: InputFormat | null, placements: readonly string[]): AsyncGenerator<Recipient> {
  const iterator = source[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (!first.done && first.value.length === 0) first = await iterator.next();
  const chunks = async function* (): AsyncGenerator<Buffer> {
    if (first.done) return;
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  };
  const kind = format ?? sniff(first.done ? Buffer.alloc(0) : first.value);
  if (kind === 'csv') yield* csvRecipients(chunks(), placements);
  else yield* ndjsonRecipients(chunks(), placements);
}

/** NDJSON when the first thing after a BOM and white space is `{`, else CSV. */
function sniff(chunk: Buffer): InputFormat {
  const text = chunk.subarray(0, 64).toString('utf8').replace(/^\ufeff/, '').trimStart();
  return text.startsWith('{') ? 'ndjson' : 'csv';
}

const CUSTOMER_ID = 'customerId';

async function* csvRecipients(chunks: AsyncIterable<Buffer>, placements: readonly string[]): AsyncGenerator<Recipient> {
  // Each record with its raw text, whose line breaks (those inside quoted fields too) give the line numbers: csv-parse's
  // own count (`info: true`) builds an object of a dozen fields a record, which took three times the parse itself
  // (docs/performance.md, 2026-12-06, session 11). So blank lines come as records too, skipped below as
  // skip_empty_lines would skip them.
  const parser = Readable.from(lineFeedsOnly(chunks)).pipe(parse({ bom: true, raw: true, relax_column_count: true, record_delimiter: '\n' }));
  const placementsJson = JSON.stringify(placements);
  let columns: string[] | null = null;
  let idColumn = -1;
  let linesBefore = 0;
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const line = linesBefore + 1;
      linesBefore += countLineBreaks(raw);
      if (raw === '\n' || raw === '') continue;
      if (columns === null) {
        columns = checkHeader(record);
        idColumn = columns.indexOf(CUSTOMER_ID);
        continue;
      }
      const customerId = record[idColumn] ?? null;
      if (record.length !== columns.length) {
        yield {
          line,
          customerId,
          failure: { status: 400, title: 'Invalid CSV row', detail: `line ${line} has ${record.length} fields; the header has ${columns.length}` },
        };
        continue;
      }
      let context = '';
      for (let i = 0; i < columns.length; i++) {
        const value = record[i] as string;
        // An empty cell is no value: CSV cannot tell it from a missing one.
        if (i === idColumn || value === '') continue;
        context += `${context === '' ? '' : ','}${JSON.stringify(columns[i])}:${JSON.stringify(value)}`;
      }
      const request = `{"customerId":${JSON.stringify(customerId)},"placements":${placementsJson}${context === '' ? '' : `,"context":{${context}}`}}\n`;
      yield { line, customerId, request };
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const at = (err as { lines?: number }).lines;
    throw new InputError(`the CSV cannot be read${at ? ` at line ${at}` : ''}: ${(err as Error).message}`);
  }
  if (columns === null) throw new InputError('the CSV is empty: it needs a header line with a customerId column');
}

/**
 * CRLF as LF, so a file that mixes them (an export edited by hand) reads
 * alike, and line numbers count right: csv-parse given both delimiters
 * miscounts lines after a blank CRLF line. A CRLF inside a quoted field
 * becomes LF too.
 */
async function* lineFeedsOnly(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let heldCr = false;
  for await (const chunk of chunks) {
    let bytes: Buffer = heldCr ? Buffer.concat([Buffer.from([0x0d]), chunk]) : chunk;
    heldCr = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d;
    if (heldCr) bytes = bytes.subarray(0, -1);
    if (bytes.includes(0x0d)) bytes = Buffer.from(bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    if (bytes.length > 0) yield bytes;
  }
  if (heldCr) yield Buffer.from([0x0d]);
}

function countLineBreaks(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

function checkHeader(header: string[]): string[] {
  if (!header.includes(CUSTOMER_ID)) {
    throw new InputError(`the CSV has no ${CUSTOMER_ID} column (its header: ${header.map((h) => JSON.stringify(h)).join(', ')})`);
  }
  const seen = new Set<string>();
  for (const name of header) {
    if (name === '') throw new InputError('a column of the CSV has no name');
    if (FORBIDDEN_KEYS.has(name)) throw new InputError(`the CSV column "${name}" cannot be a context field`);
    if (seen.has(name)) throw new InputError(`the CSV names the column "${name}" twice`);
    seen.add(name);
  }
  return header;
}

async function* ndjsonRecipients(chunks: AsyncIterable<Buffer>, placements: readonly string[]): AsyncGenerator<Recipient> {
  const splitter = new NdjsonLineSplitter(MAX_STREAM_LINE_BYTES);
  const lines: BodyLine[] = [];
  const recipientsOf = function* (): Generator<Recipient> {
    for (const entry of lines) yield ndjsonRecipient(entry, placements);
    lines.length = 0;
  };
  let first = true;
  for await (const chunk of chunks) {
    // A BOM before the first line is not part of it.
    const bytes = first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? chunk.subarray(3) : chunk;
    first = false;
    splitter.push(bytes, lines);
    yield* recipientsOf();
  }
  splitter.end(lines);
  yield* recipientsOf();
}

function ndjsonRecipient(entry: BodyLine, placements: readonly string[]): Recipient {
  const { line } = entry;
  if ('unreadable' in entry) {
    return entry.unreadable === 'too-large'
      ? { line, customerId: null, failure: { status: 413, title: 'Line too large', detail: `line ${line} is longer than ${MAX_STREAM_LINE_BYTES} bytes` } }
      : { line, customerId: null, failure: { status: 400, title: 'Malformed JSON', detail: `line ${line} is not valid UTF-8` } };
  }
  let value: unknown;
  try {
    value = JSON.parse(entry.text);
  } catch (err) {
    return { line, customerId: null, failure: { status: 400, title: 'Malformed JSON', detail: `line ${line} is not valid JSON: ${(err as Error).message}` } };
  }
  const customerId = isPlainObject(value) && typeof value.customerId === 'string' ? value.customerId : null;
  // A request that names its placements keeps them; the others get --placement. The service checks the rest.
  if (isPlainObject(value) && value.placements === undefined && placements.length > 0) {
    return { line, customerId, request: `${JSON.stringify({ ...value, placements })}\n` };
  }
  return { line, customerId, request: `${entry.text.trim()}\n` };
}
