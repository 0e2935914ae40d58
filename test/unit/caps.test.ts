/**
 * How caps are counted (contract section 8): at most once per item and
 * decision, only for items that would otherwise be served, and not at all for
 * placements without capped items. What they decide is in the golden cases
 * (test/fixtures/decisions/outcomes.json).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import type { DecisionRequest } from '../../src/domain/decision.js';
import { buildRuleset } from '../../src/ruleset/build.js';
import type { RulesetSnapshot } from '../../src/ruleset/snapshot.js';
import { fixedOutcomeTotals } from './fixed-outcome-totals.js';

const NOW = Date.parse('2026-05-10T12:00:00Z');

const serveAll = (items: string[]) => [{ name: 'all', conditions: { all: [] }, event: { type: 'serve', params: { items } } }];

function build(): RulesetSnapshot {
  const files = {
    'catalog.json': {
      items: [
        { id: 'plain', kind: 'content' },
        { id: 'popular', kind: 'offer', caps: [{ kind: 'conversion', max: 2, scope: 'all' }] },
        { id: 'mine', kind: 'offer', caps: [{ kind: 'click', max: 1 }] },
      ],
    },
    'placements/uncapped.json': { placement: 'uncapped', maxItems: 2, rules: serveAll(['plain']) },
    'placements/first.json': { placement: 'first', maxItems: 2, rules: serveAll(['popular', 'plain']) },
    'placements/second.json': { placement: 'second', maxItems: 1, fallback: ['popular'], rules: [] },
    'placements/full-before.json': { placement: 'full-before', maxItems: 1, rules: serveAll(['plain', 'popular']) },
  };
  const { snapshot, errors } = buildRuleset(
    Object.entries(files).map(([file, content]) => ({ file, text: JSON.stringify(content) })),
    { now: NOW },
  );
  if (!snapshot) throw new Error(JSON.stringify(errors));
  return snapshot;
}

const snapshot = build();
const request = (placements: string[], explain = false): DecisionRequest => ({ customerId: 'c1', placements, context: {}, explain });
const everyone = [
  { item: 'popular', kind: 'conversion' as const, at: NOW - 1000 },
  { item: 'popular', kind: 'conversion' as const, at: NOW - 2000 },
];

describe('caps: what a decision counts', () => {
  it('knows at load time which placements list a capped item, fallback included', () => {
    expect(Object.fromEntries([...snapshot.placements].map(([name, p]) => [name, p.capped]))).toEqual({
      uncapped: false,
      first: true,
      second: true,
      'full-before': true,
    });
    expect(snapshot.catalog.get('plain')?.caps).toBeNull();
    expect(snapshot.catalog.get('popular')?.caps).toEqual([
      { kind: 'conversion', max: 2, withinDays: null, scope: 'all' },
    ]);
  });

  it('counts nothing for placements without capped items', async () => {
    const totals = fixedOutcomeTotals(everyone);
    await decide(snapshot, null, request(['uncapped']), { now: NOW, decisionId: 'd', outcomeTotals: totals });
    await decide(snapshot, null, request(['uncapped'], true), { now: NOW, decisionId: 'd', outcomeTotals: totals });
    expect(totals.asked).toBe(0);
  });

  it('counts an item offered in two placements of one decision once', async () => {
    const totals = fixedOutcomeTotals(everyone);
    const decision = await decide(snapshot, null, request(['first', 'second']), { now: NOW, decisionId: 'd', outcomeTotals: totals });
    expect(decision.placements.first?.items.map((i) => i.id)).toEqual(['plain']);
    expect(decision.placements.second).toMatchObject({ items: [], fallback: true });
    expect(totals.asked).toBe(1);
    // A new decision counts afresh: the totals may have moved on.
    await decide(snapshot, null, request(['first']), { now: NOW, decisionId: 'd2', outcomeTotals: totals });
    expect(totals.asked).toBe(2);
  });

  it('does not count an item the placement has no room for', async () => {
    const totals = fixedOutcomeTotals(everyone);
    const decision = await decide(snapshot, null, request(['full-before']), { now: NOW, decisionId: 'd', outcomeTotals: totals });
    expect(decision.placements['full-before']?.items.map((i) => i.id)).toEqual(['plain']);
    expect(totals.asked).toBe(0);
  });

  it('serves capped-by-everyone items when decide is given no totals', async () => {
    const decision = await decide(snapshot, null, request(['first']), { now: NOW, decisionId: 'd' });
    expect(decision.placements.first?.items.map((i) => i.id)).toEqual(['popular', 'plain']);
  });
});

describe('caps: what a served item shows', () => {
  it('every catalog field but its caps, which are policy, not content', async () => {
    const decision = await decide(snapshot, null, request(['first']), { now: NOW, decisionId: 'd1' });
    const served = decision.placements.first?.items.find((item) => item.id === 'popular');
    expect(served).toBeDefined();
    expect(served).not.toHaveProperty('caps');
    expect(served).toMatchObject({ id: 'popular', kind: 'offer', rule: 'all' });
  });
});
