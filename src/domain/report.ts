/**
 * Placement reports (contract section 9): what each rule and item of a
 * placement served and what customers did with it, over UTC days. The zod
 * schemas are the one definition of the answer: its types come from them and
 * the OpenAPI document is generated from them. Nothing parses a report with them.
 */
import * as z from 'zod';

/** The ranking a decision used for an optimized placement (contract section 10); null for other placements. */
export const RANKING_ARMS = ['optimized', 'priority'] as const;
export type RankingArm = (typeof RANKING_ARMS)[number];

export const OPTIMIZE_GOALS = ['click', 'conversion'] as const;
export type OptimizeGoal = (typeof OPTIMIZE_GOALS)[number];

/** The longest range a report covers, in days (both ends inclusive). */
export const MAX_REPORT_DAYS = 400;
/** The days optimize learns from: an item's goal rate over its impressions of the last 30 days. */
export const GOAL_WINDOW_DAYS = 30;

/** A UTC day, `YYYY-MM-DD`. */
export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The counters kept for one placement, rule, item, arm and day. */
export interface ReportCounters {
  served: number;
  impressions: number;
  clicks: number;
  conversions: number;
  dismisses: number;
  value: number;
}

/** An item's goal events and impressions over a window, all rules and arms: what optimize learns from. */
export interface GoalCounts {
  goals: number;
  impressions: number;
}

export const rateSchema = z
  .object({
    rate: z.number().meta({ description: 'The observed rate (events ÷ impressions).', examples: [0.042] }),
    low: z.number().meta({ description: 'The lower end of the 95% Wilson score interval.', examples: [0.031] }),
    high: z.number().meta({ description: 'The upper end of the 95% Wilson score interval.', examples: [0.056] }),
  })
  .nullable()
  .meta({ description: 'A rate with its 95% Wilson score interval; null with no impressions.' });
export type RateInterval = z.output<typeof rateSchema>;

const counterFields = {
  served: z.int().min(0).meta({ description: 'Decisions that served the item (may lag by up to 10 s).' }),
  impressions: z.int().min(0),
  clicks: z.int().min(0),
  conversions: z.int().min(0),
  dismisses: z.int().min(0),
  value: z.number().min(0).meta({ description: 'The sum of the outcomes\' values.' }),
};

export const reportDaySchema = z
  .object({ day: z.string().meta({ examples: ['2026-12-01'] }), ...counterFields })
  .meta({ description: 'The counters of one UTC day.' });

export const reportTotalsSchema = z
  .object({ ...counterFields, ctr: rateSchema, conversionRate: rateSchema })
  .meta({ description: 'Counters summed, with the click-through and conversion rates over impressions.' });
export type ReportTotals = z.output<typeof reportTotalsSchema>;

export const reportRowSchema = z
  .object({
    rule: z.string().nullable().meta({ description: 'The rule that served the item; null for the fallback.', examples: ['cart-abandoners'] }),
    item: z.string().meta({ examples: ['hero-cart'] }),
    ...counterFields,
    ctr: rateSchema,
    conversionRate: rateSchema,
    days: z.array(reportDaySchema).meta({ description: 'The counters of each day of the range that has any, oldest first.' }),
  })
  .meta({ description: 'One rule and item over the range.' });
export type ReportRow = z.output<typeof reportRowSchema>;

export const liftSchema = z
  .object({
    rate: z.number().meta({ description: '(optimized goal rate − priority goal rate) ÷ priority goal rate.', examples: [0.35] }),
    low: z.number().nullable().meta({ description: 'The lower end of the 95% interval; null when either arm has no goal event.' }),
    high: z.number().nullable(),
  })
  .nullable()
  .meta({ description: 'The lift of the optimized ranking over priority order on the goal rate; null while the priority rate is 0 or unknown.' });
export type Lift = z.output<typeof liftSchema>;

export const placementReportSchema = z
  .object({
    placement: z.string().meta({ examples: ['home-hero'] }),
    from: z.string().meta({ examples: ['2026-11-25'] }),
    to: z.string().meta({ examples: ['2026-12-01'] }),
    rows: z.array(reportRowSchema).meta({ description: 'One per rule and item with anything counted in the range.' }),
    goal: z.enum(OPTIMIZE_GOALS).optional().meta({ description: "An optimized placement's goal." }),
    arms: z
      .object({ optimized: reportTotalsSchema, priority: reportTotalsSchema })
      .optional()
      .meta({ description: 'For an optimized placement: totals over the decisions ranked by Thompson sampling, and over the control arm kept in priority order.' }),
    lift: liftSchema.optional(),
  })
  .meta({ description: "A placement's report over UTC days." });
export type PlacementReport = z.output<typeof placementReportSchema>;

export const REPORT_CSV_HEADER = [
  'rule',
  'item',
  'served',
  'impressions',
  'clicks',
  'conversions',
  'dismisses',
  'value',
  'ctr',
  'ctrLow',
  'ctrHigh',
  'conversionRate',
  'conversionRateLow',
  'conversionRateHigh',
] as const;
