/**
 * Preloaded into the service by the soak test only
 * (`node --expose-gc --import tsx --import ./load/soak-probe.ts src/main.ts`);
 * the service itself knows nothing of it and gains no endpoint.
 *
 * On SIGUSR2 it runs a full garbage collection and writes one line to
 * stderr, `soak-probe {...}`: the V8 heap figures of process.memoryUsage()
 * right after the collection, how long it took, and the RSS a second later.
 * Heap used after a full GC is what the service really holds, wherever in the
 * collector's cycle the signal arrived. The RSS is read after a pause because
 * V8 hands the freed pages back to the system from background threads: read
 * at once, it is up to 40 MiB higher and noisier.
 */
import { performance } from 'node:perf_hooks';

const PROBE_PREFIX = 'soak-probe ';
const RSS_DELAY_MS = 1000;

const gc = (globalThis as { gc?: () => void }).gc;

process.on('SIGUSR2', () => {
  const started = performance.now();
  gc?.();
  const gcMs = performance.now() - started;
  const usage = process.memoryUsage();
  setTimeout(() => {
    const line = {
      gc: gc !== undefined,
      gcMs,
      rss: process.memoryUsage.rss(),
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
    };
    process.stderr.write(`${PROBE_PREFIX}${JSON.stringify(line)}\n`);
  }, RSS_DELAY_MS);
});
