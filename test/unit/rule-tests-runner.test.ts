/**
 * The rule test runner behind `nextbest test` (contract section 6), on rule
 * folders written inline: what passes, how a failure reads for each `expect`
 * field, how `now` and relative touchpoint times work, and how mistakes in a
 * test file or in the rules are reported.
 */
import { describe, expect, it } from 'vitest';
import { resolveTouchpointAt, runRuleTests, type RuleTestReport } from '../../src/cli/rule-tests.js';
import { ruleTestFileSchema } from '../../src/domain/rule-tests.js';
import type { RuleSource } from '../../src/ruleset/layout.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');

const RULES: Record<string, unknown> = {
  'journey.json': {
    rules: [
      {
        name: 'carted',
        priority: 30,
        conditions: { all: [{ fact: 'touchpointCount', params: { type: 'cart_add', withinDays: 7 }, operator: 'greaterThan', value: 0 }] },
        event: { type: 'stage', params: { stage: 'purchase' } },
      },
    ],
  },
  'catalog.json': {
    items: [
      { id: 'hero-cart', kind: 'content', channels: ['web'] },
      { id: 'hero-welcome', kind: 'content', channels: ['web'] },
      { id: 'hero-spring', kind: 'content', activeFrom: '2026-03-20T00:00:00Z', activeUntil: '2026-06-21T00:00:00Z' },
      { id: 'offer-gold', kind: 'offer' },
    ],
  },
  'placements/home-hero.json': {
    placement: 'home-hero',
    maxItems: 2,
    fallback: ['hero-welcome'],
    rules: [
      {
        name: 'cart-abandoners',
        priority: 90,
        conditions: { all: [{ fact: 'touchpointCount', params: { type: 'cart_add', withinDays: 2 }, operator: 'greaterThan', value: 0 }] },
        event: { type: 'serve', params: { items: ['hero-cart'] } },
      },
      {
        name: 'gold',
        priority: 50,
        conditions: { all: [{ fact: 'attributes', path: '$.tier', operator: 'equal', value: 'gold' }] },
        event: { type: 'serve', params: { items: ['offer-gold'] } },
      },
      {
        name: 'spring',
        priority: 10,
        conditions: { all: [] },
        event: { type: 'serve', params: { items: ['hero-spring'] } },
      },
    ],
  },
};

/** The contract's own example, with this folder's item ids. */
const CART_CASE = {
  name: 'a cart abandoner sees the reminder',
  customer: {
    stage: null,
    attributes: { tier: 'silver' },
    touchpoints: [{ type: 'cart_add', channel: 'web', at: '-1d' }],
  },
  context: { channel: 'web' },
  placement: 'home-hero',
  expect: { stage: 'purchase', items: ['hero-cart'], fallback: false },
};

/** The rule files and test files of a folder; a file set to undefined is left out. */
function sources(tests: Record<string, unknown>, rules: Record<string, unknown> = RULES): RuleSource[] {
  return Object.entries({ ...rules, ...tests })
    .filter(([, content]) => content !== undefined)
    .map(([file, content]) => ({ file, text: typeof content === 'string' ? content : JSON.stringify(content, null, 2) }));
}

async function run(tests: Record<string, unknown>, rules?: Record<string, unknown>): Promise<RuleTestReport> {
  return runRuleTests(sources(tests, rules), { now: NOW });
}

/** The failures of the only case of the only test file. */
async function failuresOf(testCase: Record<string, unknown>): Promise<string[]> {
  const report = await run({ 'tests/t.json': { cases: [testCase] } });
  expect(report.ruleErrors).toEqual([]);
  expect(report.files[0]?.errors).toEqual([]);
  const result = report.files[0]?.cases[0];
  if (!result) throw new Error('the case did not run');
  return result.failures;
}

describe('passing cases', () => {
  it('runs the contract example as written and counts it as passed', async () => {
    const report = await run({ 'tests/home.json': { cases: [CART_CASE] } });
    expect(report).toEqual({
      ruleErrors: [],
      files: [{ file: 'tests/home.json', errors: [], cases: [{ name: CART_CASE.name, passed: true, failures: [] }] }],
      passed: 1,
      failed: 0,
    });
  });

  it('compares every expect field when all are given', async () => {
    const failures = await failuresOf({
      name: 'gold member with a cart',
      customer: { attributes: { tier: 'gold' }, touchpoints: [{ type: 'cart_add', channel: 'web', at: '-1d' }] },
      context: { channel: 'web' },
      placement: 'home-hero',
      expect: { stage: 'purchase', stageSource: 'inferred', items: ['hero-cart', 'offer-gold'], rules: ['cart-abandoners', 'gold'], fallback: false },
    });
    expect(failures).toEqual([]);
  });

  it('treats a case without a customer as a customer never seen before', async () => {
    const failures = await failuresOf({
      name: 'new visitor',
      placement: 'home-hero',
      expect: { stage: 'awareness', stageSource: 'default', items: ['hero-welcome'], rules: [null], fallback: true },
    });
    expect(failures).toEqual([]);
  });

  it('passes a case with an empty expect as long as the decision can be made', async () => {
    expect(await failuresOf({ name: 'anything', placement: 'home-hero', expect: {} })).toEqual([]);
  });

  it('sorts files by name and keeps cases in file order', async () => {
    const report = await run({
      'tests/b.json': { cases: [{ ...CART_CASE, name: 'b1' }] },
      'tests/a.json': { cases: [{ ...CART_CASE, name: 'a2' }, { ...CART_CASE, name: 'a1' }] },
    });
    expect(report.files.map((f) => [f.file, f.cases.map((c) => c.name)])).toEqual([
      ['tests/a.json', ['a2', 'a1']],
      ['tests/b.json', ['b1']],
    ]);
    expect(report.passed).toBe(3);
  });

  it('reports no files when the folder has no tests', async () => {
    const report = await run({});
    expect(report).toEqual({ ruleErrors: [], files: [], passed: 0, failed: 0 });
  });
});

describe('failure lines', () => {
  it('say expected and actual for each expect field', async () => {
    const failures = await failuresOf({
      ...CART_CASE,
      name: 'everything wrong',
      expect: { stage: 'retention', stageSource: 'explicit', items: ['hero-welcome'], rules: ['gold'], fallback: true },
    });
    expect(failures).toEqual([
      'stage: expected "retention", got "purchase" (inferred)',
      'stageSource: expected "explicit", got "inferred" (stage "purchase")',
      'items: expected ["hero-welcome"], got ["hero-cart"] (from rule cart-abandoners)',
      'fallback: expected true, got false (items ["hero-cart"])',
      'rules: expected ["gold"], got ["cart-abandoners"] for items ["hero-cart"]',
    ]);
  });

  it('mark a fallback answer as such', async () => {
    const failures = await failuresOf({
      name: 'expects the cart reminder for a new visitor',
      placement: 'home-hero',
      expect: { items: ['hero-cart'], rules: ['cart-abandoners'] },
    });
    expect(failures).toEqual([
      'items: expected ["hero-cart"], got ["hero-welcome"] (fallback)',
      'rules: expected ["cart-abandoners"], got [null] for items ["hero-welcome"]',
    ]);
  });

  it('compare items in order, and name every rule that served', async () => {
    const failures = await failuresOf({
      name: 'wrong order',
      customer: { attributes: { tier: 'gold' }, touchpoints: [{ type: 'cart_add', channel: 'web', at: '-1d' }] },
      placement: 'home-hero',
      expect: { items: ['offer-gold', 'hero-cart'] },
    });
    expect(failures).toEqual(['items: expected ["offer-gold", "hero-cart"], got ["hero-cart", "offer-gold"] (from rules cart-abandoners, gold)']);
  });

  it('count the case as failed and the others as passed', async () => {
    const report = await run({
      'tests/t.json': { cases: [CART_CASE, { ...CART_CASE, name: 'wrong', expect: { fallback: true } }] },
    });
    expect(report.passed).toBe(1);
    expect(report.failed).toBe(1);
    expect(report.files[0]?.cases.map((c) => c.passed)).toEqual([true, false]);
  });
});

describe('the clock', () => {
  it('resolves relative touchpoint times against the case clock', () => {
    const now = Date.parse('2026-01-10T00:00:00Z');
    expect(resolveTouchpointAt('-30m', now)).toBe(now - 30 * 60_000);
    expect(resolveTouchpointAt('-12h', now)).toBe(now - 12 * 3_600_000);
    expect(resolveTouchpointAt('-3d', now)).toBe(now - 3 * 86_400_000);
    expect(resolveTouchpointAt('now', now)).toBe(now);
    expect(resolveTouchpointAt(undefined, now)).toBe(now);
    expect(resolveTouchpointAt('2026-01-09T01:00:00+01:00', now)).toBe(now - 86_400_000);
  });

  it('accepts only now, -<n>m, -<n>h, -<n>d and ISO-8601 date-times with an offset', () => {
    const at = (value: string) => ruleTestFileSchema.safeParse({ cases: [{ ...CART_CASE, customer: { touchpoints: [{ type: 'x', channel: 'web', at: value }] } }] }).success;
    for (const ok of ['now', '-30m', '-12h', '-3d', '-0d', '2026-01-09T01:00:00Z', '2026-01-09T01:00:00.250+01:00']) expect(at(ok), ok).toBe(true);
    for (const bad of ['+3d', '3d', '-3w', '-1.5d', 'yesterday', '2026-01-09', '2026-01-09T01:00:00', '2026-02-30T00:00:00Z']) expect(at(bad), bad).toBe(false);
  });

  it('counts relative times back from the file now, so the window rules see them', async () => {
    const cartAt = (at: string) => ({
      name: `cart ${at}`,
      customer: { touchpoints: [{ type: 'cart_add', channel: 'web', at }] },
      placement: 'home-hero',
      expect: { items: ['hero-cart'] },
    });
    const report = await run({
      'tests/t.json': { now: '2026-01-10T00:00:00Z', cases: [cartAt('-47h'), cartAt('-49h'), cartAt('2026-01-09T00:00:00Z'), cartAt('2026-01-07T00:00:00Z')] },
    });
    expect(report.files[0]?.cases.map((c) => [c.name, c.passed])).toEqual([
      ['cart -47h', true],
      ['cart -49h', false],
      ['cart 2026-01-09T00:00:00Z', true],
      ['cart 2026-01-07T00:00:00Z', false],
    ]);
  });

  it('uses the case now over the file now, and the real clock without either', async () => {
    const spring = { placement: 'home-hero', context: { channel: 'app' }, expect: { items: ['hero-spring'] } };
    const report = await run({
      'tests/t.json': {
        now: '2026-04-01T00:00:00Z',
        cases: [
          { ...spring, name: 'file now: spring' },
          { ...spring, name: 'case now: before spring', now: '2026-03-01T00:00:00Z' },
        ],
      },
      'tests/u.json': { cases: [{ ...spring, name: 'real clock (March 10): before spring' }] },
    });
    expect(report.files.flatMap((f) => f.cases.map((c) => [c.name, c.passed]))).toEqual([
      ['file now: spring', true],
      ['case now: before spring', false],
      ['real clock (March 10): before spring', false],
    ]);
  });

  it('refuses a touchpoint after the case clock, as the service would', async () => {
    const failures = await failuresOf({
      ...CART_CASE,
      now: '2026-01-10T00:00:00Z',
      customer: { touchpoints: [{ type: 'cart_add', channel: 'web', at: '2026-01-11T00:00:00Z' }] },
    });
    expect(failures).toEqual([
      'customer.touchpoints[0].at: 2026-01-11T00:00:00Z is later than the test\'s now (2026-01-10T00:00:00.000Z); the service refuses touchpoints more than 5 minutes in the future',
    ]);
  });

  it('stores a touchpoint id once, as the service does', async () => {
    const twice = { type: 'cart_add', channel: 'web', at: '-1d', id: 'tp-1' };
    const failures = await failuresOf({
      name: 'the same touchpoint delivered twice counts once',
      customer: { touchpoints: [twice, { ...twice, at: '-3h' }] },
      placement: 'home-hero',
      expect: { items: ['hero-cart'] },
    });
    expect(failures).toEqual([]);
  });
});

describe('names the rules do not define', () => {
  it('an unknown placement fails the case without running it', async () => {
    const failures = await failuresOf({ ...CART_CASE, placement: 'home-heroo' });
    expect(failures).toEqual(['placement: unknown placement "home-heroo"; the rules define home-hero']);
  });

  it('an explicit customer stage must be a listed stage', async () => {
    const failures = await failuresOf({ ...CART_CASE, customer: { stage: 'loyal' } });
    expect(failures).toEqual(['customer.stage: unknown stage "loyal"; stages are awareness, consideration, purchase, retention, advocacy']);
  });

  it('expected stages, items and rules must exist', async () => {
    const failures = await failuresOf({ ...CART_CASE, expect: { stage: 'buying', items: ['hero-cart', 'hero-crat'], rules: ['cart-abandoner', null] } });
    expect(failures).toEqual([
      'expect.stage: unknown stage "buying"; stages are awareness, consideration, purchase, retention, advocacy',
      'expect.items[1]: unknown item "hero-crat"; it is not in catalog.json',
      'expect.rules[0]: placement "home-hero" has no rule "cart-abandoner"',
    ]);
  });
});

describe('mistakes in a test file', () => {
  it('malformed JSON is reported with line and column, and the file runs no case', async () => {
    const report = await run({ 'tests/t.json': '{\n  "cases": [\n    { "name": "x", }\n  ]\n}' });
    expect(report.files).toEqual([
      { file: 'tests/t.json', cases: [], errors: [{ file: 'tests/t.json', path: '$', message: expect.stringMatching(/^malformed JSON: .*\(line 3, column 20\)$/) }] },
    ]);
    expect(report.passed + report.failed).toBe(0);
  });

  it('schema errors name the file and the JSON path of each problem', async () => {
    const report = await run({
      'tests/t.json': {
        now: 'tomorrow',
        cases: [
          CART_CASE,
          {
            name: 'bad',
            customerId: 'has spaces',
            placement: 'Home Hero',
            customer: { touchpoints: [{ type: 'cart_add', at: 'yesterday' }] },
            expect: { itmes: ['hero-cart'], stageSource: 'guessed' },
          },
          { name: 'no expect', placement: 'home-hero' },
        ],
      },
    });
    const errors = report.files[0]?.errors.map((e) => `${e.file}: ${e.path}: ${e.message}`);
    expect(errors).toEqual(
      expect.arrayContaining([
        'tests/t.json: $.now: must be an ISO-8601 date-time with an offset, e.g. 2026-11-25T12:00:00Z',
        'tests/t.json: $.cases[1].customerId: must be 1-128 characters of A-Z a-z 0-9 . _ : @ -',
        expect.stringMatching(/^tests\/t\.json: \$\.cases\[1\]\.placement: must be a slug/),
        'tests/t.json: $.cases[1].customer.touchpoints[0].channel: is required',
        expect.stringMatching(/^tests\/t\.json: \$\.cases\[1\]\.customer\.touchpoints\[0\]\.at: must be "now", a time before the test's now/),
        'tests/t.json: $.cases[1].expect.itmes: unknown key',
        expect.stringMatching(/^tests\/t\.json: \$\.cases\[1\]\.expect\.stageSource: /),
        'tests/t.json: $.cases[2].expect: is required',
      ]),
    );
    expect(errors).toHaveLength(8);
    expect(report.files[0]?.cases).toEqual([]);
  });

  it('rejects unknown keys at the top, in a case and in a touchpoint', async () => {
    const report = await run({
      'tests/t.json': { case: [], cases: [{ ...CART_CASE, expected: {}, customer: { touchpoints: [{ type: 'a', channel: 'web', when: '-1d' }] } }] },
    });
    expect(report.files[0]?.errors.map((e) => `${e.path}: ${e.message}`).sort()).toEqual([
      '$.case: unknown key',
      '$.cases[0].customer.touchpoints[0].when: unknown key',
      '$.cases[0].expected: unknown key',
    ]);
  });

  it('duplicate case names are an error, though the cases still run', async () => {
    const report = await run({ 'tests/t.json': { cases: [CART_CASE, CART_CASE] } });
    expect(report.files[0]?.errors).toEqual([{ file: 'tests/t.json', path: '$.cases[1].name', message: `duplicate case name "${CART_CASE.name}"` }]);
    expect(report.passed).toBe(2);
  });

  it('a key that could reach object prototypes is refused', async () => {
    const report = await run({ 'tests/t.json': '{ "cases": [ { "name": "x", "placement": "home-hero", "context": { "__proto__": { "channel": "web" } }, "expect": {} } ] }' });
    expect(report.files[0]?.errors).toEqual([
      { file: 'tests/t.json', path: '$.cases[0].context.__proto__', message: 'this key is not allowed (it could reach object prototypes)' },
    ]);
  });

  it('a key repeated within one object is reported with file and path, as in a rule file, and the file runs no case', async () => {
    const report = await run({
      'tests/t.json': '{ "cases": [ { "name": "x", "placement": "home-hero", "expect": { "items": ["hero-cart"], "items": [] } } ] }',
    });
    expect(report.files).toEqual([
      {
        file: 'tests/t.json',
        cases: [],
        errors: [{ file: 'tests/t.json', path: '$.cases[0].expect.items', message: '"items" appears twice in the same object; only the last one would count' }],
      },
    ]);
  });

  it('a file nested deeper than a rule file may be is refused, as a rule file is', async () => {
    const deep = `${'{ "a": '.repeat(120)}1${' }'.repeat(120)}`;
    const report = await run({ 'tests/t.json': `{ "cases": [ { "name": "x", "placement": "home-hero", "context": ${deep}, "expect": {} } ] }` });
    expect(report.files[0]?.errors).toEqual([{ file: 'tests/t.json', path: '$', message: 'nests deeper than 100 levels' }]);
    expect(report.files[0]?.cases).toEqual([]);
  });

  it('a bad file does not stop the other files', async () => {
    const report = await run({ 'tests/a.json': '{', 'tests/b.json': { cases: [CART_CASE] } });
    expect(report.files.map((f) => [f.file, f.errors.length, f.cases.length])).toEqual([
      ['tests/a.json', 1, 0],
      ['tests/b.json', 0, 1],
    ]);
    expect(report.passed).toBe(1);
  });
});

describe('rules with errors', () => {
  it('are reported, and no case runs', async () => {
    const broken = {
      ...RULES,
      'placements/home-hero.json': {
        placement: 'home-hero',
        rules: [{ name: 'r', conditions: { all: [] }, event: { type: 'serve', params: { items: ['nope'] } } }],
      },
    };
    const report = await run({ 'tests/t.json': { cases: [CART_CASE] } }, broken);
    expect(report.ruleErrors).toEqual([
      { file: 'placements/home-hero.json', path: '$.rules[0].event.params.items[0]', message: 'unknown item "nope"; it is not in catalog.json' },
    ]);
    expect(report.files).toEqual([{ file: 'tests/t.json', cases: [], errors: [] }]);
    expect(report.passed + report.failed).toBe(0);
  });

  it('still check the test files', async () => {
    const report = await run({ 'tests/t.json': { cases: 'none' } }, { ...RULES, 'catalog.json': undefined });
    expect(report.ruleErrors.map((e) => e.file)).toEqual(['catalog.json']);
    expect(report.files[0]?.errors).toEqual([{ file: 'tests/t.json', path: '$.cases', message: 'must be an array, not the string "none"' }]);
  });
});

describe('outcomes and caps', () => {
  const CAPPED_RULES: Record<string, unknown> = {
    'catalog.json': {
      items: [
        { id: 'hero-new', kind: 'content', caps: [{ kind: 'impression', max: 2, withinDays: 7 }] },
        { id: 'hero-welcome', kind: 'content', caps: [{ kind: 'dismiss', max: 1 }] },
        { id: 'hero-plain', kind: 'content' },
        { id: 'offer-once', kind: 'offer', caps: [{ kind: 'conversion', max: 1 }] },
      ],
    },
    'placements/home-hero.json': {
      placement: 'home-hero',
      fallback: ['hero-welcome', 'hero-plain'],
      rules: [
        {
          name: 'never-clicked',
          conditions: { all: [{ fact: 'outcomeCount', params: { kind: 'click', placement: 'home-hero' }, operator: 'equal', value: 0 }] },
          event: { type: 'serve', params: { items: ['hero-new'] } },
        },
      ],
    },
    'placements/email.json': {
      placement: 'email',
      rules: [{ name: 'once', conditions: { all: [] }, event: { type: 'serve', params: { items: ['offer-once'] } } }],
    },
  };
  const failuresWith = async (testCase: Record<string, unknown>): Promise<string[]> => {
    const report = await run({ 'tests/t.json': { cases: [testCase] } }, CAPPED_RULES);
    expect(report.ruleErrors).toEqual([]);
    expect(report.files[0]?.errors).toEqual([]);
    return report.files[0]?.cases[0]?.failures ?? ['the case did not run'];
  };

  it('gives the customer outcomes, with relative times, that caps and outcomeCount count', async () => {
    const impressions = [
      { kind: 'impression', item: 'hero-new', placement: 'home-hero', at: '-1d', rule: 'never-clicked' },
      { kind: 'impression', item: 'hero-new', placement: 'home-hero', at: '-6d' },
    ];
    expect(await failuresWith({ name: 'fresh', placement: 'home-hero', expect: { items: ['hero-new'], capped: [] } })).toEqual([]);
    expect(
      await failuresWith({
        name: 'seen twice this week',
        customer: { outcomes: impressions },
        placement: 'home-hero',
        expect: { items: ['hero-welcome'], fallback: true, capped: ['hero-new'] },
      }),
    ).toEqual([]);
    expect(
      await failuresWith({
        name: 'seen twice, once long ago',
        customer: { outcomes: [impressions[0], { ...impressions[1], at: '-8d' }] },
        placement: 'home-hero',
        expect: { items: ['hero-new'] },
      }),
    ).toEqual([]);
    expect(
      await failuresWith({
        name: 'clicked: the rule no longer matches; the dismissed welcome is capped',
        customer: {
          outcomes: [
            { kind: 'click', item: 'hero-new', placement: 'home-hero', at: '-30d' },
            { kind: 'dismiss', item: 'hero-welcome', placement: 'home-hero', at: '2026-01-01T00:00:00Z', rule: null },
          ],
        },
        placement: 'home-hero',
        expect: { items: ['hero-plain'], rules: [null], capped: ['hero-welcome'] },
      }),
    ).toEqual([]);
    expect(
      await failuresWith({
        name: 'taken',
        customer: { outcomes: [{ kind: 'conversion', item: 'offer-once', placement: 'email' }] },
        placement: 'email',
        expect: { items: [], capped: ['offer-once'] },
      }),
    ).toEqual([]);
  });

  it('says which items were capped when that is not what the case expects', async () => {
    const failures = await failuresWith({
      name: 'expects a cap that is not reached',
      customer: { outcomes: [{ kind: 'impression', item: 'hero-new', placement: 'home-hero', at: '-1d' }] },
      placement: 'home-hero',
      expect: { capped: ['hero-new'] },
    });
    expect(failures).toEqual(['capped: expected ["hero-new"], got []']);
  });

  it('refuses outcomes of items and placements the rules do not have, or later than the case clock', async () => {
    const failures = await failuresWith({
      name: 'typos',
      customer: {
        outcomes: [
          { kind: 'click', item: 'hero-nwe', placement: 'home-hero', at: '-1d' },
          { kind: 'click', item: 'hero-new', placement: 'homehero', at: '-1d' },
          { kind: 'click', item: 'hero-new', placement: 'home-hero', at: '2026-03-11T00:00:00Z' },
        ],
      },
      placement: 'home-hero',
      expect: { capped: ['hero-nwe'] },
    });
    expect(failures).toEqual([
      'expect.capped[0]: unknown item "hero-nwe"; it is not in catalog.json',
      'customer.outcomes[0].item: unknown item "hero-nwe"; it is not in catalog.json',
      'customer.outcomes[1].placement: unknown placement "homehero"; the rules define email, home-hero',
      expect.stringMatching(/^customer\.outcomes\[2\]\.at: 2026-03-11T00:00:00Z is later than the test's now/),
    ]);
  });

  it('checks an outcome as it checks a touchpoint: kind, at, unknown keys', async () => {
    const report = await run(
      {
        'tests/t.json': {
          cases: [
            {
              name: 'bad outcomes',
              customer: { outcomes: [{ kind: 'view', item: 'hero-new', placement: 'home-hero', at: 'yesterday', value: 3 }, { kind: 'click', item: 'hero-new' }] },
              placement: 'home-hero',
              expect: {},
            },
          ],
        },
      },
      CAPPED_RULES,
    );
    expect(report.files[0]?.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(
      expect.arrayContaining([
        '$.cases[0].customer.outcomes[0].kind: must be one of impression, click, conversion, dismiss',
        expect.stringMatching(/^\$\.cases\[0\]\.customer\.outcomes\[0\]\.at: must be "now", a time before/),
        '$.cases[0].customer.outcomes[0].value: unknown key',
        '$.cases[0].customer.outcomes[1].placement: is required',
      ]),
    );
    expect(report.files[0]?.errors).toHaveLength(4);
  });
});
