import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { csvRecord, fileWriter, outputEncoder, type AnsweredDecision } from '../../src/cli/offers-output.js';
import { createProgress, formatDuration, renderBar } from '../../src/cli/progress.js';

const decision: AnsweredDecision = {
  decisionId: 'd-1',
  customerId: 'c-1',
  placements: {
    'email-offers': {
      items: [
        { id: 'a', kind: 'offer', rule: 'r-1', title: 'Say "hi", now\nplease', channels: ['email', 'web'], terms: { days: 3 } },
        { id: 'b', kind: 'content', rule: null, title: 'Fallback' },
      ],
      fallback: false,
    },
    'home-hero': { items: [], fallback: true },
  },
};

describe('the offers CSV', () => {
  it('writes the fixed columns, then the item fields; one row per item with its position; lists and objects as JSON; quotes what needs it', () => {
    const encoder = outputEncoder('csv', ['kind', 'title', 'channels', 'terms', 'code']);
    expect(encoder.rows([{ text: '', decision }]).count).toBe(2);
    const rows = parse(encoder.header() + encoder.rows([{ text: '', decision }]).text) as string[][];
    expect(rows).toEqual([
      ['customerId', 'placement', 'position', 'item', 'rule', 'fallback', 'decisionId', 'kind', 'title', 'channels', 'terms', 'code'],
      ['c-1', 'email-offers', '1', 'a', 'r-1', 'false', 'd-1', 'offer', 'Say "hi", now\nplease', '["email","web"]', '{"days":3}', ''],
      ['c-1', 'email-offers', '2', 'b', '', 'false', 'd-1', 'content', 'Fallback', '', '', ''],
    ]);
  });

  it('writes a decision object as it writes the same decision read back from its JSON', () => {
    const encoder = outputEncoder('csv', ['kind', 'title', 'channels', 'terms', 'code']);
    const frozen: AnsweredDecision = {
      ...decision,
      placements: Object.fromEntries(
        Object.entries(decision.placements).map(([name, p]) => [name, { ...p, items: p.items.map((item) => Object.freeze({ ...item })) }]),
      ),
    };
    const fromJson = encoder.rows([{ text: '', decision: JSON.parse(JSON.stringify(decision)) as AnsweredDecision }]);
    // Twice: the second time the frozen items' cells come from what was kept of the first.
    for (let i = 0; i < 2; i++) expect(encoder.decisionRows(frozen, () => '')).toEqual(fromJson);
    expect(outputEncoder('ndjson', []).decisionRows(decision, () => '{"x":1}')).toEqual({ text: '{"x":1}\n', count: 1 });
  });

  // Text with what CSV treats specially, and anything else (lone surrogates included).
  const cellText = fc.oneof(
    fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', ' ', 'a', '\ufeff', '\t', "'", '=') }),
    fc.string({ unit: 'binary' }),
    fc.string(),
  );

  it('writes records exactly as csv-stringify does with its defaults', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cellText, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 5 }), (records) => {
        expect(records.map(csvRecord).join('')).toBe(stringify(records));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes records csv-parse reads back as they were', () => {
    fc.assert(
      fc.property(fc.array(fc.array(cellText, { minLength: 7, maxLength: 30 }), { minLength: 1, maxLength: 5 }), (records) => {
        // Without csv-parse's bom option: the writer writes no BOM, so a cell may begin with U+FEFF and must stay so.
        const read = parse(records.map(csvRecord).join(''), { relax_column_count: true }) as string[][];
        expect(read).toEqual(records);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes NDJSON decisions as they came', () => {
    expect(outputEncoder('ndjson', []).rows([{ text: '{"x":1}', decision }])).toEqual({ text: '{"x":1}\n', count: 1 });
  });
});

describe('the offers file writer', () => {
  it('writes text and UTF-8 bytes (the decision workers\' output) in order, counts bytes, and appends after a kept prefix', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-writer-'));
    try {
      const path = join(dir, 'out.csv');
      const writer = await fileWriter(path, null);
      writer.write('id,title\n');
      writer.write(new TextEncoder().encode('1,Café 😀\n'));
      writer.write(new Uint8Array(0));
      expect(writer.pending).toBe(9 + 13);
      await writer.flush();
      expect(writer.bytes).toBe(22);
      writer.write('2,x\n');
      await writer.close();
      expect(await readFile(path, 'utf8')).toBe('id,title\n1,Café 😀\n2,x\n');

      const resumed = await fileWriter(path, 22);
      resumed.write(new TextEncoder().encode('3,y\n'));
      await resumed.close();
      expect(await readFile(path, 'utf8')).toBe('id,title\n1,Café 😀\n3,y\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the progress bar', () => {
  it('shows done, total, share, rate and time left, fitted to the width', () => {
    expect(renderBar({ done: 45_210, total: 100_000, rate: 21_340, width: 100, unit: 'recipients' })).toBe(
      `[${'█'.repeat(18)}${'░'.repeat(22)}] 45,210/100,000 45% · 21,340 recipients/s · 0:03 left`,
    );
    expect(renderBar({ done: 500, total: null, rate: 250, width: 100, unit: 'recipients' })).toBe('500 · 250 recipients/s');
    expect(renderBar({ done: 1, total: 10, rate: 1, width: 20, unit: 'r' }).length).toBeLessThan(20);
    expect(formatDuration(3723)).toBe('1:02:03');
  });

  it('redraws in place on a terminal and writes only the summary elsewhere', () => {
    let clock = 0;
    const written: string[] = [];
    const bar = createProgress({ sink: { write: (t: string) => written.push(t), columns: 80 }, bar: true, unit: 'r', now: () => clock });
    bar.setTotal(10);
    for (let i = 1; i <= 10; i++) {
      clock += 50;
      bar.update(i);
    }
    bar.finish('done');
    expect(written.filter((w) => w.startsWith('\r[')).length).toBe(5);
    expect(written.at(-1)).toBe('done\n');
    const plain: string[] = [];
    const summary = createProgress({ sink: { write: (t: string) => plain.push(t) }, bar: false, unit: 'r' });
    summary.update(5);
    summary.finish('done');
    expect(plain).toEqual(['done\n']);
  });
});
