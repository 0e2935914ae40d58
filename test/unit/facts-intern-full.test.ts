/**
 * Touchpoint facts compare interned ids, and group a profile's touchpoints
 * by type (src/conditions/decision-facts.ts). The intern table is bounded: once it is
 * full, new types and channels get no id and must still be counted, by
 * name. This file fills the table (it has its own module instance: vitest
 * isolates test files), then checks every filter against a plain count.
 */
import { describe, expect, it } from 'vitest';
import { createFacts } from '../../src/conditions/decision-facts.js';
import { internedId, MAX_INTERNED, NO_ID, toDecisionProfile } from '../../src/domain/decision-profile.js';
import type { TouchpointCountParams } from '../../src/conditions/fact-catalog.js';

const NOW = Date.parse('2026-05-10T12:00:00Z');
const DAY = 24 * 3_600_000;

interface Tp {
  type: string;
  channel: string;
  at: number;
}

/** The definition, spelled out: matching type and channel, `at` within the window. */
function reference(touchpoints: readonly Tp[], params: TouchpointCountParams): { count: number; days: number | null } {
  const list = (v: string | readonly string[] | undefined) => (v === undefined ? null : typeof v === 'string' ? [v] : v);
  const types = list(params.type);
  const channels = list(params.channel);
  const since = params.withinDays === undefined ? -Infinity : NOW - params.withinDays * DAY;
  const matching = touchpoints.filter((t) => (types === null || types.includes(t.type)) && (channels === null || channels.includes(t.channel)));
  const newest = Math.max(...matching.map((t) => t.at));
  return {
    count: matching.filter((t) => t.at >= since).length,
    days: matching.length === 0 ? null : Math.max(0, NOW - newest) / DAY,
  };
}

function answers(touchpoints: readonly Tp[], params: readonly TouchpointCountParams[]) {
  const sorted = [...touchpoints].sort((a, b) => b.at - a.at);
  const profile = toDecisionProfile({
    customerId: 'c-1',
    attributes: {},
    stage: null,
    touchpoints: sorted.map((t) => ({ id: null, type: t.type, channel: t.channel, at: t.at, properties: null })),
    createdAt: NOW - 400 * DAY,
    updatedAt: NOW,
  });
  const facts = createFacts({ customerId: 'c-1', profile, context: {}, now: NOW });
  return params.map((q) => ({ count: facts.touchpointCount(q), days: facts.daysSinceLastTouchpoint(q) }));
}

const BEFORE: Tp[] = [
  { type: 'page_view', channel: 'web', at: NOW - 1 * DAY },
  { type: 'purchase', channel: 'store', at: NOW - 3 * DAY },
  { type: 'page_view', channel: 'app', at: NOW - 5 * DAY },
  { type: 'email_open', channel: 'email', at: NOW - 9 * DAY },
  { type: 'purchase', channel: 'web', at: NOW - 40 * DAY },
];

const PARAMS: TouchpointCountParams[] = [
  {},
  { type: 'page_view' },
  { type: 'late_type' },
  { type: ['late_type', 'page_view'] },
  { type: ['purchase', 'late_type'], withinDays: 30 },
  { channel: 'late_channel' },
  { type: 'page_view', channel: ['late_channel', 'web'] },
  { type: 'late_type', channel: 'late_channel', withinDays: 4 },
  { withinDays: 4 },
  { type: 'never_seen' },
];

describe('touchpoint facts once the intern table is full', () => {
  it('count types and channels that have no id by name, alone and beside ones that have', () => {
    // The slugs used before the table fills keep their ids.
    for (const t of BEFORE) {
      internedId(t.type);
      internedId(t.channel);
    }
    for (let i = 0; internedId(`filler-${i}`) !== NO_ID; i++) expect(i).toBeLessThan(MAX_INTERNED);
    expect(internedId('late_type')).toBe(NO_ID);

    const touchpoints: Tp[] = [
      ...BEFORE,
      { type: 'late_type', channel: 'late_channel', at: NOW - 2 * DAY },
      { type: 'late_type', channel: 'web', at: NOW - 6 * DAY },
      { type: 'page_view', channel: 'late_channel', at: NOW - 7 * DAY },
    ];
    expect(answers(touchpoints, PARAMS)).toEqual(PARAMS.map((q) => reference(touchpoints, q)));
  });

  it('still use the ids of a profile whose types all have one', () => {
    expect(answers(BEFORE, PARAMS)).toEqual(PARAMS.map((q) => reference(BEFORE, q)));
  });
});
