/** Plain-text tables and number formats for the benchmark's report. */

export type Cell = string | number;

/** A Markdown table padded to the widest cell; the first `labels` columns align left, the figures right. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>, labels = 1): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => i >= labels);
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...text.map(line)].join('\n');
}

/** Milliseconds as µs below 1 ms, else ms, with three significant digits. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1) return `${significant(ms * 1000)} µs`;
  if (ms < 10_000) return `${significant(ms)} ms`;
  return `${significant(ms / 1000)} s`;
}

export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  return Math.round(perSecond).toLocaleString('en-US');
}

export function ratio(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)}×` : '—';
}

export function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(0)}%` : '—';
}

export function bytes(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${significant(value / 1024)} KiB`;
  if (value < 1024 ** 3) return `${significant(value / 1024 / 1024)} MiB`;
  return `${significant(value / 1024 ** 3)} GiB`;
}

function significant(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function heading(title: string): string {
  return `\n## ${title}\n`;
}
