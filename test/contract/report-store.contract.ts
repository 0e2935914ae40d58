import { afterEach, describe, expect, it } from 'vitest';
import { addDays, dayOf, DAY_MS, type ReportDayRow, type ReportOutcome, type ReportStore, type ReportStoreOptions } from '../../src/reports/report-store.js';

export interface ReportStoreHandle {
  store: ReportStore;
  /** Closes the store if still open and removes what it left behind. */
  cleanup(): Promise<void>;
}

export type ReportStoreFactory = (options: ReportStoreOptions) => Promise<ReportStoreHandle>;

/**
 * Noon of a recent day: Redis expires day keys by its own clock, so the days
 * the suite writes must lie within retention of the real now.
 */
const T0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 12 * 60 * 60 * 1000;
const TODAY = dayOf(T0);
const YESTERDAY = addDays(TODAY, -1);

function outcome(overrides: Partial<ReportOutcome> = {}): ReportOutcome {
  return {
    customerId: 'c-1',
    decisionId: 'd-1',
    placement: 'home-hero',
    item: 'hero-a',
    rule: 'rule-a',
    arm: null,
    kind: 'impression',
    at: T0,
    value: null,
    ...overrides,
  };
}

/** Rows without their order, for comparison. */
function sorted(rows: ReportDayRow[]): ReportDayRow[] {
  return [...rows].sort((a, b) => JSON.stringify([a.day, a.rule, a.item, a.arm]).localeCompare(JSON.stringify([b.day, b.rule, b.item, b.arm])));
}

const ZERO = { served: 0, impressions: 0, clicks: 0, conversions: 0, dismisses: 0, value: 0 };

/**
 * The behaviour every ReportStore shares. `expiresByItself`: the adapter
 * drops old days by its own clock (Redis key expiry) rather than in sweepExpired.
 */
export function runReportStoreContract(name: string, factory: ReportStoreFactory, { expiresByItself = false } = {}): void {
  describe(`ReportStore contract: ${name}`, () => {
    const handles: ReportStoreHandle[] = [];
    afterEach(async () => {
      for (const handle of handles.splice(0)) await handle.cleanup();
    });
    async function open(retentionDays = 410): Promise<ReportStore> {
      const handle = await factory({ retentionDays, now: () => T0 });
      handles.push(handle);
      return handle.store;
    }

    it('adds served counts per placement, rule, item, arm and day, and reads a range of days, both ends inclusive', async () => {
      const store = await open();
      await store.addServed([
        { placement: 'home-hero', rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, count: 3 },
        { placement: 'home-hero', rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, count: 2 },
        { placement: 'home-hero', rule: null, item: 'hero-fallback', arm: null, day: YESTERDAY, count: 1 },
        { placement: 'home-hero', rule: 'rule-a', item: 'hero-a', arm: 'optimized', day: TODAY, count: 7 },
        { placement: 'sidebar', rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, count: 4 },
      ]);
      await store.addServed([{ placement: 'home-hero', rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, count: 10 }]);
      expect(sorted(await store.query('home-hero', YESTERDAY, TODAY))).toEqual(
        sorted([
          { ...ZERO, rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, served: 15 },
          { ...ZERO, rule: 'rule-a', item: 'hero-a', arm: 'optimized', day: TODAY, served: 7 },
          { ...ZERO, rule: null, item: 'hero-fallback', arm: null, day: YESTERDAY, served: 1 },
        ]),
      );
      expect(await store.query('home-hero', TODAY, TODAY)).toHaveLength(2);
      expect(await store.query('home-hero', YESTERDAY, YESTERDAY)).toHaveLength(1);
      expect(await store.query('nowhere', YESTERDAY, TODAY)).toEqual([]);
    });

    it('counts each outcome kind and sums values, in the day of its time', async () => {
      const store = await open();
      await store.recordOutcomes([
        outcome({ kind: 'impression' }),
        outcome({ kind: 'click' }),
        outcome({ kind: 'conversion', value: 59.9 }),
        outcome({ kind: 'conversion', decisionId: 'd-2', value: 0.1 }),
        outcome({ kind: 'dismiss', customerId: 'c-2', at: T0 - DAY_MS }),
      ]);
      expect(sorted(await store.query('home-hero', YESTERDAY, TODAY))).toEqual(
        sorted([
          { ...ZERO, rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, impressions: 1, clicks: 1, conversions: 2, value: 60 },
          { ...ZERO, rule: 'rule-a', item: 'hero-a', arm: null, day: YESTERDAY, dismisses: 1 },
        ]),
      );
    });

    it('counts an outcome once however often it is recorded: a retried request completes the aggregate exactly once', async () => {
      const store = await open();
      const batch = [outcome({ kind: 'impression' }), outcome({ kind: 'click', value: 2 }), outcome({ kind: 'impression', customerId: 'c-2' })];
      await store.recordOutcomes(batch);
      await store.recordOutcomes(batch);
      await store.recordOutcomes([batch[1] as ReportOutcome, outcome({ kind: 'impression', customerId: 'c-3' })]);
      const [row] = await store.query('home-hero', TODAY, TODAY);
      expect(row).toEqual({ ...ZERO, rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, impressions: 3, clicks: 1, value: 2 });
    });

    it('keeps arms and rules apart, and a fallback item under a null rule', async () => {
      const store = await open();
      await store.recordOutcomes([
        outcome({ arm: 'optimized', decisionId: 'd-1' }),
        outcome({ arm: 'priority', decisionId: 'd-2' }),
        outcome({ rule: 'rule-b', decisionId: 'd-3' }),
        outcome({ rule: null, item: 'hero-fallback', decisionId: 'd-4', kind: 'click' }),
      ]);
      const rows = sorted(await store.query('home-hero', TODAY, TODAY));
      expect(rows.map((r) => [r.rule, r.item, r.arm, r.impressions, r.clicks])).toEqual(
        sorted([
          { ...ZERO, rule: 'rule-a', item: 'hero-a', arm: 'optimized', day: TODAY, impressions: 1 },
          { ...ZERO, rule: 'rule-a', item: 'hero-a', arm: 'priority', day: TODAY, impressions: 1 },
          { ...ZERO, rule: 'rule-b', item: 'hero-a', arm: null, day: TODAY, impressions: 1 },
          { ...ZERO, rule: null, item: 'hero-fallback', arm: null, day: TODAY, clicks: 1 },
        ]).map((r) => [r.rule, r.item, r.arm, r.impressions, r.clicks]),
      );
    });

    it('forgets counted outcomes once, and ignores outcomes it never counted', async () => {
      const store = await open();
      const mine = [outcome({ kind: 'impression' }), outcome({ kind: 'conversion', value: 10 })];
      await store.recordOutcomes([...mine, outcome({ customerId: 'c-2', kind: 'conversion', value: 5 })]);
      await store.forgetOutcomes(mine);
      await store.forgetOutcomes(mine);
      await store.forgetOutcomes([outcome({ customerId: 'c-9', kind: 'click' })]);
      const [row] = await store.query('home-hero', TODAY, TODAY);
      expect(row).toEqual({ ...ZERO, rule: 'rule-a', item: 'hero-a', arm: null, day: TODAY, conversions: 1, value: 5 });
      // Forgotten, an outcome sent again counts again: it is a new outcome of a customer the service knows anew.
      await store.recordOutcomes(mine);
      const [again] = await store.query('home-hero', TODAY, TODAY);
      expect(again).toMatchObject({ impressions: 1, conversions: 2, value: 15 });
    });

    it('gives goal statistics per item since a day, over every rule and arm', async () => {
      const store = await open();
      await store.recordOutcomes([
        outcome({ decisionId: 'd-1', item: 'a', rule: 'r1', arm: 'optimized' }),
        outcome({ decisionId: 'd-2', item: 'a', rule: 'r2', arm: 'priority' }),
        outcome({ decisionId: 'd-2', item: 'a', rule: 'r2', arm: 'priority', kind: 'click' }),
        outcome({ decisionId: 'd-3', item: 'b' }),
        outcome({ decisionId: 'd-3', item: 'b', kind: 'conversion' }),
        outcome({ decisionId: 'd-4', item: 'b', at: T0 - 5 * DAY_MS }),
        outcome({ decisionId: 'd-5', item: 'a', placement: 'sidebar', kind: 'click' }),
      ]);
      const clicks = await store.goalStats('home-hero', 'click', YESTERDAY);
      expect(Object.fromEntries(clicks)).toEqual({ a: { goals: 1, impressions: 2 }, b: { goals: 0, impressions: 1 } });
      const conversions = await store.goalStats('home-hero', 'conversion', addDays(TODAY, -29));
      expect(Object.fromEntries(conversions)).toEqual({ a: { goals: 0, impressions: 2 }, b: { goals: 1, impressions: 2 } });
      expect((await store.goalStats('nowhere', 'click', YESTERDAY)).size).toBe(0);
    });

    it('counts nothing for days already past retention', async () => {
      const store = await open(3);
      const old = addDays(TODAY, -3);
      await store.addServed([{ placement: 'home-hero', rule: 'rule-a', item: 'hero-a', arm: null, day: old, count: 1 }]);
      await store.recordOutcomes([outcome({ at: T0 - 3 * DAY_MS })]);
      expect(await store.query('home-hero', old, TODAY)).toEqual([]);
    });

    if (!expiresByItself) {
      it('sweeps the days past retention', async () => {
        const store = await open(410);
        await store.addServed([{ placement: 'home-hero', rule: 'rule-a', item: 'hero-a', arm: null, day: YESTERDAY, count: 1 }]);
        await store.recordOutcomes([outcome()]);
        expect(await store.sweepExpired(T0)).toBe(0);
        expect(await store.sweepExpired(T0 + 409 * DAY_MS)).toBe(1);
        expect(await store.query('home-hero', YESTERDAY, TODAY)).toHaveLength(1);
        expect(await store.sweepExpired(T0 + 410 * DAY_MS)).toBe(1);
        expect(await store.query('home-hero', YESTERDAY, TODAY)).toEqual([]);
      });
    }

    it('answers a ping, and refuses work once closed', async () => {
      const store = await open();
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await expect(store.ping()).rejects.toThrow();
    });
  });
}
