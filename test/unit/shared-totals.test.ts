import { describe, expect, it } from 'vitest';
import { createSharedOutcomeTotals } from '../../src/outcomes/shared-totals.js';
import { DAY_MS, type OutcomeDayCount } from '../../src/profiles/store.js';

const NOW = Date.UTC(2026, 2, 10, 12);
const TODAY = Math.floor(NOW / DAY_MS);

describe('everyone\'s outcome totals, refreshed in the background', () => {
  it('counts per item and kind, by whole days within the window, and every day without one', async () => {
    const rows: OutcomeDayCount[] = [
      { item: 'a', kind: 'impression', day: TODAY, count: 2 },
      { item: 'a', kind: 'impression', day: TODAY - 3, count: 5 },
      { item: 'a', kind: 'click', day: TODAY, count: 1 },
    ];
    const totals = createSharedOutcomeTotals({ store: { outcomeTotals: async () => rows }, items: () => ['a'], now: () => NOW });
    expect(totals.count('a', 'impression', null, NOW)).toBe(0);
    await totals.refresh();
    expect(totals.count('a', 'impression', 1, NOW)).toBe(2);
    expect(totals.count('a', 'impression', 3, NOW)).toBe(7);
    expect(totals.count('a', 'impression', null, NOW)).toBe(7);
    expect(totals.count('a', 'click', null, NOW)).toBe(1);
    expect(totals.count('b', 'click', null, NOW)).toBe(0);
  });

  it('keeps serving the last counts when the store fails, and says they are stale', async () => {
    let fail = false;
    const totals = createSharedOutcomeTotals({
      store: {
        outcomeTotals: async () => {
          if (fail) throw new Error('down');
          return [{ item: 'a', kind: 'conversion', day: TODAY, count: 4 }];
        },
      },
      items: () => ['a'],
      now: () => NOW,
    });
    await totals.refresh();
    fail = true;
    await expect(totals.refresh()).rejects.toThrow('down');
    expect(totals.stale).toBe(true);
    expect(totals.count('a', 'conversion', null, NOW)).toBe(4);
  });

  it('asks the store nothing while no item counts everyone', async () => {
    let asked = 0;
    const totals = createSharedOutcomeTotals({ store: { outcomeTotals: async () => (asked++, []) }, items: () => [], now: () => NOW });
    await totals.refresh();
    expect(asked).toBe(0);
  });
});
