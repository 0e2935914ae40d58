/**
 * The rule files' JSON Schemas (for editors) are generated from the zod
 * schemas: the committed copies in rules/schemas/ must match the generator,
 * every example rule file must pass its schema, and the mistakes an editor
 * should flag must fail it.
 * They are checked with ajv (draft 2020-12, strict), as an editor would.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { joinPath } from '../../src/domain/json.js';
import { renderRuleSchemaFiles } from '../../src/cli/schemas.js';
import { readRulesDir } from '../../src/reload/read-rules-dir.js';
import { classifyRuleFile } from '../../src/ruleset/layout.js';
import { FACT_NAMES } from '../../src/conditions/fact-catalog.js';
import {
  OPERATOR_PATTERN,
  RULE_FILE_SCHEMA_KINDS,
  ruleFileJsonSchemas,
  ruleFileSchemaName,
  type JsonSchema,
  type RuleFileSchemaKind,
} from '../../src/ruleset/json-schemas.js';
import { parseOperator } from '../../src/conditions/operators.js';

const RULES_DIR = 'rules';
const SCHEMAS_DIR = join(RULES_DIR, 'schemas');
const REGENERATE = 'run `npx nextbest schemas rules` and commit rules/schemas/';

const schemas = ruleFileJsonSchemas();

// ---- validating with ajv, errors located by JSON path ---------------------

// enumDescriptions and patternErrorMessage are VS Code's own keywords: annotations for other validators.
const ajv = new Ajv2020({ allErrors: true, strict: true, keywords: ['enumDescriptions', 'patternErrorMessage'] });
// ajv-formats is CommonJS: under Node's ESM its default import is the plugin itself, though its types say otherwise.
(formatsPlugin as unknown as typeof formatsPlugin.default)(ajv);
const validators = new Map<JsonSchema, ValidateFunction>();

function validateJsonSchema(schema: JsonSchema, value: unknown): string[] {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    let path = pointerToPath(e.instancePath);
    if (e.keyword === 'additionalProperties') path = joinPath(path, String(e.params.additionalProperty));
    const key = e.keyword === 'propertyNames' ? ` (key "${String(e.params.propertyName)}")` : '';
    return `${path}: ${e.message ?? e.keyword}${key}`;
  });
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((path, part) => joinPath(path, /^\d+$/.test(part) ? Number(part) : part), '$');
}

// ---- (a) the committed schemas are the generated ones ----------------------

describe('rules/schemas/', () => {
  const files = renderRuleSchemaFiles();

  it.each(files.map((file) => [file.name, file.text] as const))('%s is up to date', async (name, text) => {
    const committed = await readFile(join(SCHEMAS_DIR, name), 'utf8').catch(() => null);
    expect(committed, `${SCHEMAS_DIR}/${name} is missing or out of date: ${REGENERATE}`).toBe(text);
  });

  it('holds nothing but the generated schemas', async () => {
    const names = (await readdir(SCHEMAS_DIR)).sort();
    expect(names, `stale files in ${SCHEMAS_DIR}/: ${REGENERATE}`).toEqual(files.map((file) => file.name).sort());
  });

  it('has one schema for each kind of file, each with a relative $id', () => {
    expect(Object.keys(schemas).sort()).toEqual([...RULE_FILE_SCHEMA_KINDS].sort());
    for (const kind of RULE_FILE_SCHEMA_KINDS) {
      expect(schemas[kind].$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schemas[kind].$id).toBe(ruleFileSchemaName(kind));
      expect(schemas[kind].additionalProperties).toBe(false);
    }
  });

  it('refers to recursive conditions through $defs', () => {
    const defs = schemas.placement.$defs as Record<string, unknown>;
    expect(Object.keys(defs).sort()).toEqual(['condition', 'factCondition', 'rootCondition']);
    expect(JSON.stringify(defs.condition)).toContain('"$ref":"#/$defs/condition"');
  });
});

// ---- (b) every example rule file passes its schema -------------------------

function schemaKindOf(file: string): RuleFileSchemaKind {
  const kind = classifyRuleFile(file);
  if (kind === 'other') throw new Error(`${file} is not a rule file`);
  return kind === 'test' ? 'rule-test' : kind;
}

describe('the example rules', async () => {
  const { sources } = await readRulesDir(RULES_DIR);

  it.each(sources.map((source) => [source.file, source.text] as const))('%s passes its schema', (file, text) => {
    const kind = schemaKindOf(file);
    const data = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(data)[0], 'the first key names the schema').toBe('$schema');
    const target = posix.join(dirname(file), data.$schema as string);
    expect(target, `"$schema" points to ${posix.join('schemas', ruleFileSchemaName(kind))}`).toBe(
      posix.join('schemas', ruleFileSchemaName(kind)),
    );
    expect(validateJsonSchema(schemas[kind], data)).toEqual([]);
  });
});

// ---- (c) the mistakes an editor should flag --------------------------------

const condition = (extra: Record<string, unknown>) => ({ fact: 'attributes', path: '$.tier', operator: 'equal', value: 'gold', ...extra });

const placement = (conditionsAll: unknown[], extra: Record<string, unknown> = {}) => ({
  $schema: '../schemas/placement.schema.json',
  placement: 'home-hero',
  ...extra,
  rules: [{ name: 'r', conditions: { all: conditionsAll }, event: { type: 'serve', params: { items: ['a'] } } }],
});

describe('the placement schema', () => {
  const errorsOf = (file: unknown): string[] => validateJsonSchema(schemas.placement, file);

  it('accepts a small file, nested conditions, and every fact used as documented', () => {
    expect(
      errorsOf(
        placement([
          condition({}),
          { not: { any: [condition({ fact: 'context', path: '$.device' }), { condition: 'vip' }] } },
          { fact: 'bucket', params: { salt: 'ab' }, operator: 'lessThan', value: 50 },
          { fact: 'touchpointCount', params: { type: ['a', 'b'], withinDays: 7 }, operator: 'greaterThan', value: 0 },
          { fact: 'stage', operator: 'stageAtLeast', value: 'purchase' },
          { fact: 'channels', operator: 'everyValue:contains', value: ['web'] },
        ]),
      ),
    ).toEqual([]);
  });

  it.each([
    ['an unknown top-level key', { ...placement([condition({})]), maxitems: 2 }, '$.maxitems'],
    ['an unknown key in a rule', { ...placement([]), rules: [{ name: 'r', priorty: 2, conditions: { all: [] }, event: { type: 'serve', params: { items: ['a'] } } }] }, '$.rules[0].priorty'],
    ['an unknown key in a nested condition', placement([{ not: condition({ operater: 'equal' }) }]), 'operater'],
    ['an unknown fact', placement([condition({ fact: 'touchpointcount' })]), '.fact: must be equal to one of the allowed values'],
    ['an unknown fact, deep down', placement([{ any: [{ all: [condition({ fact: 'tier' })] }] }]), '.any[0].all[0].fact: must be equal to one of the allowed values'],
    ['an unknown operator', placement([condition({ operator: 'equals' })]), 'must match'],
    ['an unknown decorator', placement([condition({ operator: 'nott:equal' })]), 'must match'],
    ['a decorator without an operator', placement([condition({ operator: 'not:' })]), 'must match'],
    ['params for a fact that takes none', placement([condition({ params: { type: 'x' } })]), '.params: boolean schema is false'],
    ['a path into a fact without properties', placement([{ fact: 'customerId', path: '$.x', operator: 'equal', value: 'c' }]), '.path: boolean schema is false'],
    ['bucket without its salt', placement([{ fact: 'bucket', operator: 'lessThan', value: 10 }]), "must have required property 'params'"],
    ['an unknown param', placement([{ fact: 'touchpointCount', params: { withinDay: 7 }, operator: 'equal', value: 0 }]), 'withinDay'],
    ['a fact condition at the top of a rule', { ...placement([]), rules: [{ name: 'r', conditions: condition({}), event: { type: 'serve', params: { items: ['a'] } } }] }, '$.rules[0].conditions'],
    ['maxItems over 50', placement([], { maxItems: 51 }), '$.maxItems'],
    ['a missing placement', { rules: [] }, "$: must have required property 'placement'"],
  ])('rejects %s', (_name, file, expected) => {
    const errors = errorsOf(file);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(expected);
  });

  it('allows exactly the operators the loader allows', () => {
    const pattern = new RegExp(OPERATOR_PATTERN);
    const candidates = [
      'equal',
      'stageAtMost',
      'not:equal',
      'not:someFact:in',
      'swap:everyValue:notIn',
      'equals',
      'Equal',
      'not',
      'not:',
      ':equal',
      'not:nope:equal',
      'someFact:in:not',
      'not equal',
      '',
    ];
    for (const operator of candidates) expect(pattern.test(operator), operator).toBe(parseOperator(operator).ok);
  });

  it('offers every known fact', () => {
    const fact = ((schemas.placement.$defs as Record<string, JsonSchema>).factCondition?.properties as Record<string, JsonSchema>).fact;
    expect(fact?.enum).toEqual(FACT_NAMES);
  });
});

describe('the other schemas', () => {
  it('lets catalog items carry fields of their own, but not the file', () => {
    const catalog = { items: [{ id: 'a', kind: 'offer', code: 'X', discountPercent: 10 }] };
    expect(validateJsonSchema(schemas.catalog, catalog)).toEqual([]);
    expect(validateJsonSchema(schemas.catalog, { ...catalog, extra: 1 }).join('\n')).toContain('$.extra');
    expect(validateJsonSchema(schemas.catalog, { items: [{ id: 'a', kind: 'coupon' }] }).join('\n')).toContain('$.items[0].kind');
  });

  it('leaves defaulted fields optional', () => {
    expect(validateJsonSchema(schemas.journey, {})).toEqual([]);
    expect(validateJsonSchema(schemas.placement, { placement: 'p', rules: [] })).toEqual([]);
  });

  it('checks segment names and what a segment may be', () => {
    const vip = { all: [condition({})] };
    expect(validateJsonSchema(schemas.segments, { segments: { vip } })).toEqual([]);
    expect(validateJsonSchema(schemas.segments, { segments: { '1st-time': vip } }).join('\n')).toContain('key "1st-time"');
    expect(validateJsonSchema(schemas.segments, { segments: { vip: condition({}) } }).join('\n')).toContain('$.segments.vip');
  });

  it('checks rule test files', () => {
    const valid = { cases: [{ name: 'n', placement: 'home-hero', expect: { items: ['a'] } }] };
    expect(validateJsonSchema(schemas['rule-test'], valid)).toEqual([]);
    expect(validateJsonSchema(schemas['rule-test'], { cases: [{ ...valid.cases[0], expected: {} }] }).join('\n')).toContain('expected');
  });
});
