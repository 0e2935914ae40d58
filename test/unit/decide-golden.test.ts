/**
 * Golden decision cases as data (STYLE habit 10): every file in
 * test/fixtures/decisions holds a set of rule files and the decisions they must
 * give. Each file is built once (and must build without errors); each case is
 * one `it`. The cases are written from CONTRACT.md sections 3 and 4, not from
 * the implementation, so they are an independent check of stage resolution,
 * facts, operators, conditions and arbitration.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { toDecisionProfile } from '../../src/domain/decision-profile.js';
import { decide } from '../../src/decide/decide.js';
import type { DecisionRequest } from '../../src/domain/decision.js';
import type { JsonObject } from '../../src/domain/json.js';
import type { Profile } from '../../src/domain/profile.js';
import type { StoredTouchpoint } from '../../src/domain/touchpoint.js';
import { OUTCOME_KINDS, type StoredOutcome } from '../../src/domain/outcome.js';
import { itemOutcomeSchema } from '../../src/domain/trace.js';
import { fixedOutcomeTotals } from './fixed-outcome-totals.js';
import { buildRuleset } from '../../src/ruleset/build.js';
import { createJreMatcher } from '../../src/conditions/jre-matcher.js';

const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/decisions/', import.meta.url));

const jsonObject = z.record(z.string(), z.json());

const touchpointSchema = z.strictObject({
  id: z.string().optional(),
  type: z.string(),
  channel: z.string(),
  /** ISO-8601, or relative to the case's `now`: "-30m", "-12h", "-3d" (fractions allowed). */
  at: z.string(),
  properties: jsonObject.optional(),
});

/** An outcome of the customer's, relative times as for touchpoints. */
const outcomeSchema = z.strictObject({
  kind: z.enum(OUTCOME_KINDS),
  item: z.string(),
  placement: z.string(),
  at: z.string(),
  rule: z.string().nullable().optional(),
});

/** An outcome of anyone's, counted by caps with scope "all" through the OutcomeTotals the case gives decide. */
const everyonesOutcomeSchema = z.strictObject({
  kind: z.enum(OUTCOME_KINDS),
  item: z.string(),
  at: z.string(),
  /** How many such outcomes (default 1). */
  times: z.int().min(1).optional(),
});

const expectedPlacementSchema = z.strictObject({
  items: z.array(z.strictObject({ id: z.string(), rule: z.string().nullable() })),
  fallback: z.boolean(),
  /**
   * Checked on the explained run: what became of each item arbitration
   * considered, in its order (the matched rules' items, then the fallback
   * items with rule null), as explain's trace tells it.
   */
  itemOutcomes: z
    .array(
      z.strictObject({
        rule: z.string().nullable(),
        id: z.string(),
        outcome: itemOutcomeSchema,
        /** For a capped item: the cap reached and the count, as explain names them. */
        cap: z
          .strictObject({ kind: z.enum(OUTCOME_KINDS), max: z.int(), withinDays: z.number().optional(), scope: z.enum(['customer', 'all']) })
          .optional(),
        count: z.int().optional(),
      }),
    )
    .optional(),
});

const caseSchema = z.strictObject({
  name: z.string().min(1),
  now: z.iso.datetime({ offset: true }),
  profile: z
    .strictObject({
      attributes: jsonObject.default({}),
      stage: z.string().nullable().default(null),
      touchpoints: z.array(touchpointSchema).default([]),
      outcomes: z.array(outcomeSchema).default([]),
    })
    .nullable(),
  /** Everyone's outcomes for caps with scope "all"; absent: decide is given no OutcomeTotals (every such count 0). */
  everyone: z.array(everyonesOutcomeSchema).optional(),
  request: z.strictObject({
    customerId: z.string(),
    placements: z.array(z.string()).min(1),
    context: jsonObject.optional(),
  }),
  expect: z
    .strictObject({
      stage: z.string().optional(),
      stageSource: z.enum(['explicit', 'inferred', 'default']).optional(),
      placements: z.record(z.string(), expectedPlacementSchema).optional(),
    })
    .refine((e) => e.stage !== undefined || e.stageSource !== undefined || e.placements !== undefined, 'expects nothing'),
});
type GoldenCase = z.infer<typeof caseSchema>;

const fixtureSchema = z.strictObject({
  description: z.string().optional(),
  /** Rule files by their path in the rules folder ("placements/home-hero.json"). */
  rules: z.record(z.string(), z.unknown()),
  cases: z.array(caseSchema).min(1),
});
type Fixture = z.infer<typeof fixtureSchema>;

const RELATIVE_AT = /^([+-])(\d+(?:\.\d+)?)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function resolveAt(at: string, now: number): number {
  const relative = RELATIVE_AT.exec(at);
  if (relative) {
    const [, sign, amount, unit] = relative as unknown as [string, '+' | '-', string, keyof typeof UNIT_MS];
    return now + (sign === '-' ? -1 : 1) * Number(amount) * UNIT_MS[unit];
  }
  const absolute = Date.parse(at);
  if (Number.isNaN(absolute)) throw new Error(`touchpoint "at" is neither ISO-8601 nor relative (-30m, -12h, -3d): ${at}`);
  return absolute;
}

function toProfile(golden: GoldenCase, now: number): Profile | null {
  if (golden.profile === null) return null;
  const touchpoints: StoredTouchpoint[] = golden.profile.touchpoints
    .map((tp) => ({
      id: tp.id ?? null,
      type: tp.type,
      channel: tp.channel,
      at: resolveAt(tp.at, now),
      properties: (tp.properties ?? null) as JsonObject | null,
    }))
    .sort((a, b) => b.at - a.at);
  const outcomes: StoredOutcome[] = golden.profile.outcomes.map((o, i) => ({
    decisionId: `golden-${i}`,
    placement: o.placement,
    item: o.item,
    rule: o.rule ?? null,
    arm: null,
    kind: o.kind,
    at: resolveAt(o.at, now),
    value: null,
  }));
  return {
    customerId: golden.request.customerId,
    attributes: golden.profile.attributes as JsonObject,
    stage: golden.profile.stage,
    touchpoints,
    outcomes,
    createdAt: now - 365 * UNIT_MS.d,
    updatedAt: now,
  };
}

function loadFixtures(): Array<{ file: string; fixture: Fixture }> {
  const files = readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const parsed = fixtureSchema.safeParse(JSON.parse(readFileSync(`${FIXTURES_DIR}${file}`, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: not a golden decision file:\n${z.prettifyError(parsed.error)}`);
    return { file, fixture: parsed.data };
  });
}

const fixtures = loadFixtures();

describe('golden decision fixtures', () => {
  it('exist', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });
  it.each(fixtures)('$file: case names are unique', ({ fixture }) => {
    const names = fixture.cases.map((c) => c.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
  it('resolves relative touchpoint times against the case clock', () => {
    const now = Date.parse('2026-01-10T00:00:00Z');
    expect(resolveAt('-30m', now)).toBe(now - 30 * 60_000);
    expect(resolveAt('-12h', now)).toBe(now - 12 * 3_600_000);
    expect(resolveAt('-1.5d', now)).toBe(now - 1.5 * 86_400_000);
    expect(resolveAt('2026-01-09T00:00:00Z', now)).toBe(now - 86_400_000);
    expect(() => resolveAt('yesterday', now)).toThrow();
  });
});

for (const { file, fixture } of fixtures) {
  describe(file, () => {
    const sources = Object.entries(fixture.rules).map(([name, content]) => ({
      file: name,
      text: JSON.stringify(content, null, 2),
    }));
    const builtAt = Date.parse(fixture.cases[0]?.now ?? '2026-01-01T00:00:00Z');
    const built = buildRuleset(sources, { now: builtAt });
    const builtOnEngine = buildRuleset(sources, { now: builtAt, createMatcher: createJreMatcher });

    it('builds without errors', () => {
      expect(built.errors).toEqual([]);
      expect(built.snapshot).not.toBeNull();
    });

    // Every case runs on the compiled evaluator, on json-rules-engine itself, and explained (the tracing evaluator).
    const cases = fixture.cases.flatMap((golden) => [
      { ...golden, explain: false, engine: false },
      { ...golden, name: `${golden.name} (json-rules-engine)`, explain: false, engine: true },
      { ...golden, name: `${golden.name} (explained)`, explain: true, engine: false },
    ]);
    it.each(cases)('$name', async (golden) => {
      const snapshot = (golden.engine ? builtOnEngine : built).snapshot;
      if (!snapshot) throw new Error(`${file} did not build: ${JSON.stringify(built.errors)}`);
      const now = Date.parse(golden.now);
      const request: DecisionRequest = {
        customerId: golden.request.customerId,
        placements: golden.request.placements,
        context: (golden.request.context ?? {}) as JsonObject,
        explain: golden.explain,
      };
      const profile = toProfile(golden, now);
      const outcomeTotals =
        golden.everyone &&
        fixedOutcomeTotals(golden.everyone.flatMap((o) => Array.from({ length: o.times ?? 1 }, () => ({ item: o.item, kind: o.kind, at: resolveAt(o.at, now) }))));
      const decision = await decide(snapshot, profile && toDecisionProfile(profile), request, {
        now,
        decisionId: 'golden',
        ...(outcomeTotals ? { outcomeTotals } : {}),
      });
      if (golden.explain) {
        for (const placement of Object.values(decision.placements)) {
          const served = placement.items.map((item) => item.rule);
          const traced = (placement.trace ?? []).flatMap((rule) => (rule.items ?? []).filter((i) => i.outcome === 'served').map(() => rule.name));
          expect(placement.fallback ? placement.items.map(() => null) : traced).toEqual(served);
        }
      }

      expect(decision.customerId).toBe(golden.request.customerId);
      expect(Object.keys(decision.placements).sort()).toEqual([...new Set(golden.request.placements)].sort());
      if (golden.expect.stage !== undefined) expect(decision.stage).toBe(golden.expect.stage);
      if (golden.expect.stageSource !== undefined) expect(decision.stageSource).toBe(golden.expect.stageSource);
      for (const [name, { itemOutcomes, ...expected }] of Object.entries(golden.expect.placements ?? {})) {
        const actual = decision.placements[name];
        expect(actual, `placement ${name} is in the decision`).toBeDefined();
        expect({
          items: actual?.items.map((item) => ({ id: item.id, rule: item.rule })),
          fallback: actual?.fallback,
        }).toEqual(expected);
        if (golden.explain && itemOutcomes) {
          const traced = [
            ...(actual?.trace ?? []).flatMap((rule) => (rule.items ?? []).map((item) => ({ rule: rule.name as string | null, ...item }))),
            ...(actual?.fallbackTrace ?? []).map((item) => ({ rule: null, ...item })),
          ];
          expect(traced).toEqual(itemOutcomes);
        }
      }
    });
  });
}
