/**
 * decisionJson (src/http/decision-json.ts) must give exactly the text
 * JSON.stringify gives for every decision, whatever its placements, items,
 * explain trace or degraded flag: it only takes a shorter way there.
 */
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { toDecisionProfile } from '../../src/domain/decision-profile.js';
import type { Decision, DecisionRequest } from '../../src/domain/decision.js';
import { decisionJson } from '../../src/http/decision-json.js';
import { readRulesDir } from '../../src/reload/read-rules-dir.js';
import { buildRuleset } from '../../src/ruleset/build.js';

const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
const NOW = Date.parse('2026-11-25T12:00:00Z');
const DAY = 86_400_000;

const built = buildRuleset((await readRulesDir(RULES_DIR)).sources, { now: NOW });
if (!built.snapshot) throw new Error('the example rules do not build');
const snapshot = built.snapshot;
const PLACEMENTS = [...snapshot.placements.keys()];

const TYPES = ['page_view', 'cart_add', 'checkout_start', 'purchase', 'email_open', 'email_click', 'review', 'store_visit'];
const CHANNELS = ['web', 'app', 'email', 'store'];

const caseArb = fc.record({
  customerId: fc.constantFrom('c-1', 'c-42', 'qa-web-01', 'x:y@z.example'),
  placements: fc.uniqueArray(fc.constantFrom(...PLACEMENTS), { minLength: 1, maxLength: PLACEMENTS.length }),
  channel: fc.option(fc.constantFrom(...CHANNELS, 'kiosk'), { nil: undefined }),
  device: fc.option(fc.constantFrom('mobile', 'desktop', 'tab\t"let"\\'), { nil: undefined }),
  tier: fc.option(fc.constantFrom('gold', 'platinum', 'silver'), { nil: undefined }),
  touchpoints: fc.array(fc.record({ type: fc.constantFrom(...TYPES), channel: fc.constantFrom(...CHANNELS), daysAgo: fc.double({ min: 0, max: 400, noNaN: true }) }), {
    maxLength: 20,
  }),
  explain: fc.boolean(),
  degraded: fc.boolean(),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

async function decisionOf(c: Case): Promise<Decision> {
  const profile =
    c.touchpoints.length === 0 && c.tier === undefined
      ? null
      : toDecisionProfile({
          customerId: c.customerId,
          attributes: c.tier === undefined ? {} : { tier: c.tier },
          stage: null,
          touchpoints: c.touchpoints
            .map((t, i) => ({ id: `t${i}`, type: t.type, channel: t.channel, at: NOW - t.daysAgo * DAY, properties: null }))
            .sort((a, b) => b.at - a.at),
          createdAt: NOW - 400 * DAY,
          updatedAt: NOW,
        });
  const context: Record<string, string> = {};
  if (c.channel !== undefined) context.channel = c.channel;
  if (c.device !== undefined) context.device = c.device;
  const request: DecisionRequest = { customerId: c.customerId, placements: c.placements, context, explain: c.explain };
  const decision = await decide(snapshot, profile, request, { now: NOW, decisionId: 'd-1' });
  if (c.degraded) decision.degraded = true;
  return decision;
}

describe('decisionJson', () => {
  it('gives the text JSON.stringify gives, for decisions of every kind', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const decision = await decisionOf(c);
        // Twice: the second time from the items' kept JSON.
        expect(decisionJson(decision)).toBe(JSON.stringify(decision));
        expect(decisionJson(decision)).toBe(JSON.stringify(decision));
      }),
      { numRuns: 300 },
    );
  });

  it('escapes what JSON.stringify escapes, and leaves out what it leaves out', () => {
    const decision = {
      decisionId: 'quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800 pair \ud83d\ude00 line sep \u2028',
      customerId: 'c-1',
      stage: 'awareness',
      stageSource: 'default',
      rulesVersion: 'v',
      placements: {
        'home-hero': { items: [{ id: 'a"b', kind: 'content', rule: null, nested: { list: [1, 'two', null] } }], fallback: true, trace: undefined },
        'odd "name"': { items: [], fallback: false },
      },
      degraded: undefined,
    } as unknown as Decision;
    expect(decisionJson(decision)).toBe(JSON.stringify(decision));
  });

  it('never serves a changed item from its kept JSON: served items are frozen and shared', async () => {
    const request: DecisionRequest = { customerId: 'c-1', placements: PLACEMENTS, context: {}, explain: false };
    const first = await decide(snapshot, null, request, { now: NOW, decisionId: 'd-1' });
    const second = await decide(snapshot, null, request, { now: NOW, decisionId: 'd-2' });
    const items = Object.values(first.placements).flatMap((p) => p.items);
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(Object.isFrozen(item)).toBe(true);
    expect(Object.values(second.placements).flatMap((p) => p.items)).toEqual(items);
    // Modules run in strict mode, where writing to a frozen object throws.
    expect(() => {
      (items[0] as { title?: string }).title = 'changed';
    }).toThrow(TypeError);
    expect(decisionJson(second)).toBe(JSON.stringify(second));
  });
});
