/**
 * The recipients of a CSV (src/cli/offers-input.ts): each with the line it
 * starts on, counting blank lines and the line breaks inside quoted fields,
 * however the bytes arrive. The line numbers come from each record's raw
 * text, not csv-parse's own count; this holds them to where the rows are.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRecipients, type Recipient } from '../../src/cli/offers-input.js';

/** A field as a CSV writer quotes it. */
const csvField = (text: string): string => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

const row = fc.record({
  segment: fc.stringMatching(/^[a ,"\n\r]{0,8}$/),
  blankLinesBefore: fc.integer({ min: 0, max: 2 }),
  crlf: fc.boolean(),
});

async function recipientsOf(bytes: Buffer, sizes: number[]): Promise<Recipient[]> {
  const chunks = async function* (): AsyncGenerator<Buffer> {
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = sizes[i % sizes.length] as number;
      yield bytes.subarray(at, at + size);
      at += size;
    }
  };
  const recipients: Recipient[] = [];
  for await (const recipient of readRecipients(chunks(), 'csv', ['home-hero'])) recipients.push(recipient);
  return recipients;
}

describe('readRecipients, CSV', () => {
  it('gives each row the line it starts on, blank lines, CRLF and quoted line breaks counted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 12 }), fc.boolean(), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), async (rows, bom, sizes) => {
        let text = `${bom ? '\ufeff' : ''}customerId,segment\n`;
        let lines = 1;
        const expected: Array<{ line: number; customerId: string }> = [];
        rows.forEach((r, i) => {
          text += '\n'.repeat(r.blankLinesBefore);
          lines += r.blankLinesBefore;
          const line = `c-${i},${csvField(r.segment)}`;
          expected.push({ line: lines + 1, customerId: `c-${i}` });
          // A CRLF file: every line break, those inside quotes too, is CRLF, read as LF (a lone CR is no line break).
          const written = `${line}\n`.replaceAll('\n', r.crlf ? '\r\n' : '\n');
          text += written;
          lines += written.replaceAll('\r\n', '\n').split('\n').length - 1;
        });
        const recipients = await recipientsOf(Buffer.from(text, 'utf8'), sizes);
        expect(recipients.map((r) => ({ line: r.line, customerId: r.customerId }))).toEqual(expected);
        expect(recipients.every((r) => r.request !== undefined)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('names the line of a row with the wrong number of fields, after blank lines and a quoted line break', async () => {
    const text = 'customerId,segment\n\nc-1,"two\nlines"\n\n\nc-2\nc-3,vip';
    const recipients = await recipientsOf(Buffer.from(text), [7]);
    expect(recipients.map((r) => [r.line, r.customerId, r.failure?.detail ?? null])).toEqual([
      [3, 'c-1', null],
      [7, 'c-2', 'line 7 has 1 fields; the header has 2'],
      [8, 'c-3', null],
    ]);
  });
});
