/**
 * Time-boxed measurement: run an operation over and over for a fixed wall
 * time, timing every call with performance.now(), and summarise.
 */
import { performance } from 'node:perf_hooks';

export interface Summary {
  iterations: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
  /** Calls per second over the time the summary was given (the timed calls for in-process runs, the run's wall time for HTTP). */
  opsPerSec: number;
}

/** Collects samples (milliseconds) in a growing Float64Array. */
export class Samples {
  private values = new Float64Array(1 << 16);
  private count = 0;

  add(value: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = value;
  }

  get size(): number {
    return this.count;
  }

  summarise(wallMs: number): Summary {
    const sorted = this.values.slice(0, this.count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      iterations: this.count,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      p999: percentile(sorted, 0.999),
      mean: this.count > 0 ? sum / this.count : NaN,
      max: this.count > 0 ? (sorted[this.count - 1] as number) : NaN,
      opsPerSec: wallMs > 0 ? (this.count * 1000) / wallMs : NaN,
    };
  }
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface TimeBoxOptions {
  /** Wall time of the measured part. */
  budgetMs: number;
  /** Wall time spent first, unmeasured, so the JIT has compiled the hot paths. */
  warmupMs: number;
}

/**
 * Calls `operation(i)` with i = 0, 1, 2, ... until the budget is spent. Every
 * call is awaited, so synchronous and asynchronous operations compare equally.
 */
export function timeBoxed(operation: (i: number) => unknown, options: TimeBoxOptions): Promise<Summary> {
  return timeBoxedWith((i) => i, operation, options);
}

/**
 * Like timeBoxed, with an untimed `prepare(i)` before each timed call: for
 * timing one step of a pipeline on fresh inputs made by the steps before it.
 */
export async function timeBoxedWith<T>(
  prepare: (i: number) => T | Promise<T>,
  operation: (input: T) => unknown,
  options: TimeBoxOptions,
): Promise<Summary> {
  let i = 0;
  const warmupEnd = performance.now() + options.warmupMs;
  while (performance.now() < warmupEnd) await operation(await prepare(i++));
  collectGarbage();
  const samples = new Samples();
  const start = performance.now();
  let timed = 0;
  let now = start;
  const end = start + options.budgetMs;
  while (now < end) {
    const input = await prepare(i++);
    const t0 = performance.now();
    await operation(input);
    now = performance.now();
    samples.add(now - t0);
    timed += now - t0;
  }
  // ops/s counts the timed calls only: the untimed preparation is not part of the operation.
  return samples.summarise(timed);
}

/** A full collection between scenarios when node runs with --expose-gc, so one scenario's garbage is not billed to the next. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}
