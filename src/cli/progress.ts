/**
 * How far a long command has got: on a terminal, a bar redrawn in place
 * (done, total when known, rate, time left); elsewhere (a log, a CI job) one
 * summary line at the end. Small enough not to need a dependency: a line
 * rewritten with `\r` a few times a second.
 */

export interface ProgressSink {
  write(text: string): unknown;
  /** The terminal's width, when it is one. */
  columns?: number;
}

export interface Progress {
  /** `done` so far; redrawn at most every `intervalMs`. */
  update(done: number): void;
  /** The total, once known (counted while the work runs). */
  setTotal(total: number): void;
  /** Clears the bar and writes the summary line. */
  finish(summary: string): void;
}

export interface ProgressOptions {
  sink: ProgressSink;
  /** Draw a bar (a terminal) or write only the summary. */
  bar: boolean;
  /** What is counted, e.g. "recipients". */
  unit: string;
  now?: () => number;
  intervalMs?: number;
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 100;
  const started = now();
  let total: number | null = null;
  let done = 0;
  let drawnAt = -Infinity;
  let drawn = false;
  // The rate over the last few seconds, so the time left follows the current speed rather than the start's.
  const samples: Array<[number, number]> = [[started, 0]];

  const draw = (at: number): void => {
    samples.push([at, done]);
    while (samples.length > 2 && at - (samples[1] as [number, number])[0] > 5000) samples.shift();
    const [since, doneThen] = samples[0] as [number, number];
    const rate = at > since ? ((done - doneThen) * 1000) / (at - since) : 0;
    options.sink.write(`\r${renderBar({ done, total, rate, width: options.sink.columns ?? 80, unit: options.unit })}\x1b[K`);
    drawn = true;
    drawnAt = at;
  };

  return {
    update(value) {
      done = value;
      if (!options.bar) return;
      const at = now();
      if (at - drawnAt >= interval) draw(at);
    },
    setTotal(value) {
      total = value;
    },
    finish(summary) {
      if (options.bar && drawn) options.sink.write('\r\x1b[K');
      options.sink.write(`${summary}\n`);
    },
  };
}

export interface BarState {
  done: number;
  total: number | null;
  /** Per second. */
  rate: number;
  width: number;
  unit: string;
}

/** One line: `[█████░░░░░] 45,210/100,000 45% · 21,340 recipients/s · 0:03 left`, fitted to the width. */
export function renderBar(state: BarState): string {
  const count = state.total !== null ? `${formatCount(state.done)}/${formatCount(state.total)}` : formatCount(state.done);
  const share = state.total !== null && state.total > 0 ? Math.min(1, state.done / state.total) : null;
  const rate = `${formatCount(Math.round(state.rate))} ${state.unit}/s`;
  const left = share !== null && state.rate > 0 ? ` · ${formatDuration(((state.total as number) - state.done) / state.rate)} left` : '';
  const text = `${count}${share !== null ? ` ${Math.floor(share * 100)}%` : ''} · ${rate}${left}`;
  const room = state.width - text.length - 4;
  if (share === null || room < 10) return text.slice(0, Math.max(0, state.width - 1));
  const size = Math.min(40, room);
  const full = Math.round(share * size);
  return `[${'█'.repeat(full)}${'░'.repeat(size - full)}] ${text}`;
}

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** `0:07`, `12:30`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}
