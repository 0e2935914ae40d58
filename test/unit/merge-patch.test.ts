import { afterEach, describe, expect, it } from 'vitest';
import type { Json, JsonObject } from '../../src/domain/json.js';
import { applyMergePatch } from '../../src/domain/merge-patch.js';

/** RFC 7386 Appendix A, as [original, patch, result] JSON texts. */
const RFC_7386_EXAMPLES: ReadonlyArray<readonly [string, string, string]> = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', '{}'],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', 'null', 'null'],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
  ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
];

const parse = (text: string) => JSON.parse(text) as Json;
const isObject = (value: Json): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

describe('applyMergePatch (RFC 7386)', () => {
  const objectCases = RFC_7386_EXAMPLES.filter(([original, patch]) => isObject(parse(original)) && isObject(parse(patch)));

  it.each(objectCases)('%s patched with %s gives %s', (original, patch, result) => {
    expect(applyMergePatch(parse(original) as JsonObject, parse(patch) as JsonObject)).toEqual(parse(result));
  });

  // applyMergePatch takes objects, so the examples with other top-level values are checked one level down,
  // where they occur in attribute patches. A top-level null patch has no such form: there it deletes the key.
  const nestedCases = RFC_7386_EXAMPLES.filter(([, patch]) => patch !== 'null');

  it.each(nestedCases)('under a key: %s patched with %s gives %s', (original, patch, result) => {
    const patched = applyMergePatch({ k: parse(original), other: 1 }, { k: parse(patch) });
    expect(patched).toEqual({ k: parse(result), other: 1 });
  });

  it('deletes a key whose patch value is null, whatever the key held', () => {
    expect(applyMergePatch({ k: { a: 'foo' }, other: 1 }, { k: null })).toEqual({ other: 1 });
  });

  it('does not change its arguments', () => {
    const target: JsonObject = { a: { b: 1, c: [1, 2] }, d: 'x' };
    const patch: JsonObject = { a: { b: null, e: { f: 1 } }, d: null };
    const targetBefore = structuredClone(target);
    const patchBefore = structuredClone(patch);
    expect(applyMergePatch(target, patch)).toEqual({ a: { c: [1, 2], e: { f: 1 } } });
    expect(target).toEqual(targetBefore);
    expect(patch).toEqual(patchBefore);
  });

  describe('prototype keys', () => {
    const hostile = [
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"prototype":{"polluted":true}}',
      '{"a":{"__proto__":{"polluted":true}}}',
      '{"a":{"constructor":{"prototype":{"polluted":true}}}}',
      '{"__proto__":null,"constructor":null,"prototype":null}',
    ];

    afterEach(() => {
      // Undo any pollution so that one failure cannot spread to other tests.
      delete (Object.prototype as Record<string, unknown>).polluted;
    });

    it.each(hostile)('%s changes no prototype', (text) => {
      const target: JsonObject = { a: { keep: 1 } };
      const result = applyMergePatch(target, JSON.parse(text) as JsonObject);

      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(result.a)).toBe(Object.prototype);
      expect((result as Record<string, unknown>).polluted).toBeUndefined();
      expect((result.a as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(result)).toEqual(['a']);
      expect(result.a).toEqual({ keep: 1 });
    });

    it('keeps ordinary keys beside the forbidden ones', () => {
      const patch = JSON.parse('{"__proto__":{"x":1},"name":"n","nested":{"constructor":1,"ok":true}}') as JsonObject;
      expect(applyMergePatch({}, patch)).toEqual({ name: 'n', nested: { ok: true } });
    });
  });
});
