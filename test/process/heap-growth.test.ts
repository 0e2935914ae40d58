/**
 * limitHeapGrowth (HEAP_GROWING_PERCENT) in a real process: with the same
 * live heap and the same churn of objects that outlive young collections,
 * the old generation holds at most about twice what is live with the default
 * 100, against what V8 lets it reach on its own (0). Sizes, not times.
 */
import { describe, expect, it } from 'vitest';
import { run } from './spawn.js';

async function mostOldMb(percent: number): Promise<number> {
  const { code, stdout, stderr } = await run('test/process/heap-churn.ts', [String(percent)], {});
  expect(code, stderr).toBe(0);
  return (JSON.parse(stdout) as { mostOldMb: number }).mostOldMb;
}

describe('HEAP_GROWING_PERCENT', () => {
  it('keeps the old generation within about twice the live heap, where V8 alone lets it grow much further', async () => {
    const capped = await mostOldMb(100);
    const uncapped = await mostOldMb(0);
    // About 50 MB live: 118 MB against 237 MB measured on the 2-core CI machine.
    expect(capped).toBeLessThan(160);
    expect(capped).toBeLessThan(uncapped * 0.8);
  }, 60_000);
});
