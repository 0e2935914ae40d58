/**
 * Splits an NDJSON body into its lines as the chunks arrive, holding at most
 * one unfinished line, and that only up to a limit: a longer line is skipped
 * to its end and answered as too large, so no line can make the stream hold
 * more than the limit. Blank lines are counted (line numbers are the body's)
 * and skipped.
 */
import { isUtf8 } from 'node:buffer';

export type BodyLine =
  /** A line's text, without its line break (LF or CRLF). */
  | { line: number; text: string }
  /** A line that could not be read: longer than the limit, or not UTF-8. */
  | { line: number; unreadable: 'too-large' | 'not-utf8' };

const LF = 0x0a;

export class NdjsonLineSplitter {
  #line = 0;
  /** The unfinished line's bytes so far, unless it is already too long. */
  #pieces: Buffer[] = [];
  #pieceBytes = 0;
  #tooLong = false;

  /** `linesBefore`: lines that came before the first chunk (a part of a body split elsewhere), so numbers are the whole body's. */
  constructor(
    readonly maxLineBytes: number,
    linesBefore = 0,
  ) {
    this.#line = linesBefore;
  }

  /** The lines a chunk completes, appended to `out`. */
  push(chunk: Buffer, out: BodyLine[]): void {
    const first = chunk.indexOf(LF);
    if (first < 0) {
      this.#carry(chunk);
      return;
    }
    let start = 0;
    if (this.#pieceBytes > 0 || this.#tooLong) {
      this.#carry(chunk.subarray(0, first));
      this.#finishCarried(out);
      start = first + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      this.#lines(chunk, start, last, out);
      start = last + 1;
    }
    if (start < chunk.length) this.#carry(chunk.subarray(start));
  }

  /** The last line, when the body does not end with a line break. */
  end(out: BodyLine[]): void {
    if (this.#pieceBytes > 0 || this.#tooLong) this.#finishCarried(out);
  }

  #carry(bytes: Buffer): void {
    if (this.#tooLong || bytes.length === 0) return;
    this.#pieceBytes += bytes.length;
    // + 1: a CR before the LF is not part of the line.
    if (this.#pieceBytes > this.maxLineBytes + 1) {
      this.#tooLong = true;
      this.#pieces = [];
      return;
    }
    // Copied: the chunk's memory may be reused by the stream that gave it.
    this.#pieces.push(Buffer.from(bytes));
  }

  #finishCarried(out: BodyLine[]): void {
    const line = ++this.#line;
    if (this.#tooLong) {
      out.push({ line, unreadable: 'too-large' });
    } else {
      const bytes = this.#pieces.length === 1 ? (this.#pieces[0] as Buffer) : Buffer.concat(this.#pieces);
      this.#one(bytes, 0, bytes.length, line, out);
    }
    this.#pieces = [];
    this.#pieceBytes = 0;
    this.#tooLong = false;
  }

  /** The complete lines in chunk[from, to), `to` being the last line break. */
  #lines(chunk: Buffer, from: number, to: number, out: BodyLine[]): void {
    // The usual case: the whole run is UTF-8 and decodes at once, then splits as text (LF is never inside a character).
    if (isUtf8(chunk.subarray(from, to))) {
      const texts = chunk.toString('utf8', from, to).split('\n');
      for (const text of texts) this.#text(text, ++this.#line, out);
      return;
    }
    let start = from;
    while (start <= to) {
      let end = chunk.indexOf(LF, start);
      if (end < 0 || end > to) end = to;
      this.#one(chunk, start, end, ++this.#line, out);
      start = end + 1;
    }
  }

  #one(bytes: Buffer, from: number, to: number, line: number, out: BodyLine[]): void {
    if (!isUtf8(bytes.subarray(from, to))) {
      out.push({ line, unreadable: 'not-utf8' });
      return;
    }
    this.#text(bytes.toString('utf8', from, to), line, out);
  }

  #text(raw: string, line: number, out: BodyLine[]): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // A character is at most 3 bytes per UTF-16 unit, so only a long string needs counting.
    if (text.length * 3 > this.maxLineBytes && Buffer.byteLength(text) > this.maxLineBytes) {
      out.push({ line, unreadable: 'too-large' });
      return;
    }
    if (text.charCodeAt(0) !== 0x7b && text.trim() === '') return;
    out.push({ line, text });
  }
}
