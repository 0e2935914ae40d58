import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../src/observability/histogram.js';

const BUCKETS = [0.001, 0.01, 0.1];

describe('FastHistogram', () => {
  it('renders exactly as prom-client renders its own histogram fed the same values', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastHistogram('h_seconds', 'help text', BUCKETS, ours);
    const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['method', 'status'] as const, buckets: BUCKETS, registers: [theirs] });
    const get = fast.series({ method: 'GET', status: '200' });
    const post = fast.series({ method: 'POST', status: '400' });
    // On a bound, below the first, above the last, and between.
    for (const value of [0.001, 0.0001, 5, 0.05, 0.01]) {
      fast.observe(get, value);
      reference.observe({ method: 'GET', status: '200' }, value);
    }
    fast.observe(post, 0.02);
    reference.observe({ method: 'POST', status: '400' }, 0.02);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('drops a value that is not finite instead of failing the request', async () => {
    const registry = new Registry();
    const fast = new FastHistogram('h_seconds', 'help', BUCKETS, registry);
    const series = fast.series();
    fast.observe(series, Number.NaN);
    fast.observe(series, Number.POSITIVE_INFINITY);
    fast.observe(series, 0.005);
    expect(series.count).toBe(1);
    expect(await registry.metrics()).toContain('h_seconds_count 1');
  });

  it('starts every series again from zero on reset, as the registry resets its metrics', async () => {
    const registry = new Registry();
    const fast = new FastHistogram('h_seconds', 'help', BUCKETS, registry);
    const series = fast.series();
    fast.observe(series, 0.005);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('h_seconds_bucket{le="+Inf"} 0');
    expect(await registry.metrics()).toContain('h_seconds_sum 0');
  });
});
