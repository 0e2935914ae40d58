/**
 * Condition paths (contract section 4): plain property access only, "$.a.b"
 * and "$.a[0]", resolved over own properties, never through a prototype.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PATH_DEPTH, parsePath, resolvePath, resolvePathString } from '../../src/conditions/paths.js';

describe('parsePath', () => {
  it.each([
    ['$', []],
    ['$.tier', ['tier']],
    ['$.address.city', ['address', 'city']],
    ['$.favorites[0]', ['favorites', 0]],
    ['$.orders[12].total', ['orders', 12, 'total']],
    ['$[0]', [0]],
    ['$[0][1]', [0, 1]],
    ["$['loyalty tier']", ['loyalty tier']],
    ['$["loyalty tier"].since', ['loyalty tier', 'since']],
    ["$['a.b']", ['a.b']],
    ['$.snake_case.kebab-case.$dollar', ['snake_case', 'kebab-case', '$dollar']],
    ['$.toString', ['toString']],
    ['$.0', ['0']],
  ] as const)('%s parses to %j', (path, segments) => {
    expect(parsePath(path)).toEqual({ ok: true, segments });
  });

  it.each([
    ['tier', 'no leading $'],
    ['a.b', 'no leading $'],
    ['', 'empty'],
    ['$..tier', 'recursive descent'],
    ['$.tags[*]', 'wildcard index'],
    ['$.*', 'wildcard key'],
    ['$[?(@.x)]', 'filter expression'],
    ['$[(@.length-1)]', 'script expression'],
    ['$.a[-1]', 'negative index'],
    ['$.a[0:2]', 'slice'],
    ['$.a[0,1]', 'union'],
    ['$.a[01]', 'leading zero index'],
    ['$.a.', 'trailing dot'],
    ['$.a b', 'space'],
    ['$.__proto__', 'prototype key'],
    ['$.a.__proto__.b', 'prototype key, nested'],
    ["$['__proto__']", 'prototype key, quoted'],
    ['$.constructor', 'constructor'],
    ['$.constructor.prototype', 'constructor.prototype'],
    ['$.prototype', 'prototype'],
    ["$['a\\'b']", 'escaped quote'],
  ])('%s is rejected (%s)', (path) => {
    const parsed = parsePath(path);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message.length).toBeGreaterThan(0);
  });

  it.each([
    ["$.a.['b']", "$.a['b']"],
    ['$.a.["b c"].d', '$.a["b c"].d'],
    ["$.['b']", "$['b']"],
    ['$.a.[0]', '$.a[0]'],
    ['$.a.[0].[1]', '$.a[0][1]'],
  ])('%s (a dot before a bracket, as jsonpath-plus allows) is rejected with "did you mean %s?"', (path, plain) => {
    const parsed = parsePath(path);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(`did you mean ${plain}?`);
  });

  it.each([["$.a.['__proto__']"], ['$.a.[*]'], ['$..a'], ['$.a.[-1]']])('%s suggests nothing that would be rejected too', (path) => {
    const parsed = parsePath(path);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).not.toContain('did you mean');
  });

  it(`allows ${MAX_PATH_DEPTH} levels and rejects more`, () => {
    expect(parsePath(`$${'.a'.repeat(MAX_PATH_DEPTH)}`).ok).toBe(true);
    expect(parsePath(`$${'.a'.repeat(MAX_PATH_DEPTH + 1)}`).ok).toBe(false);
  });
});

describe('resolvePath', () => {
  const value = {
    tier: 'gold',
    address: { city: 'Oslo', lines: ['Storgata 1', 'Apt 2'] },
    orders: [{ total: 120 }, { total: 80 }],
    'loyalty tier': 'summit',
    nothing: null,
    zero: 0,
    empty: '',
  };
  const at = (path: string): unknown => {
    const parsed = parsePath(path);
    if (!parsed.ok) throw new Error(parsed.message);
    return resolvePath(value, parsed.segments);
  };

  it('reads nested keys, array indexes and quoted keys', () => {
    expect(at('$.tier')).toBe('gold');
    expect(at('$.address.city')).toBe('Oslo');
    expect(at('$.address.lines[1]')).toBe('Apt 2');
    expect(at('$.orders[0].total')).toBe(120);
    expect(at("$['loyalty tier']")).toBe('summit');
    expect(at('$')).toBe(value);
  });

  it('keeps falsy values: null, 0 and the empty string', () => {
    expect(at('$.nothing')).toBeNull();
    expect(at('$.zero')).toBe(0);
    expect(at('$.empty')).toBe('');
  });

  it('is undefined for anything missing, past the end, or neither an object nor a string on the way', () => {
    expect(at('$.missing')).toBeUndefined();
    expect(at('$.address.zip')).toBeUndefined();
    expect(at('$.orders[5]')).toBeUndefined();
    expect(at('$.orders[5].total')).toBeUndefined();
    expect(at('$.nothing.x')).toBeUndefined();
    expect(at('$.tier.x')).toBeUndefined();
    expect(at('$.tier[4]')).toBeUndefined();
    expect(at('$.zero.x')).toBeUndefined();
    expect(at('$.zero.length')).toBeUndefined();
    expect(at('$.nothing.length')).toBeUndefined();
    expect(at('$.address.length')).toBeUndefined();
  });

  it('reads a string\'s characters by index and its length, as json-rules-engine (jsonpath-plus) does', () => {
    expect(at('$.tier[0]')).toBe('g');
    expect(at('$.tier[3]')).toBe('d');
    expect(at('$.tier.0')).toBe('g');
    expect(at("$.tier['1']")).toBe('o');
    expect(at('$.tier.length')).toBe(4);
    expect(at("$['loyalty tier'].length")).toBe(6);
    expect(at('$.address.lines[1].length')).toBe(5);
    expect(at('$.address.lines[1][0]')).toBe('A');
    // A character is a string too.
    expect(at('$.tier[0].length')).toBe(1);
    expect(at('$.tier[0][0]')).toBe('g');
    // Indexes count UTF-16 units, as JavaScript does.
    expect(resolvePath({ s: '\u{1F600}' }, ['s', 'length'])).toBe(2);
  });

  it('reads an array\'s length', () => {
    expect(at('$.orders.length')).toBe(2);
    expect(at('$.address.lines.length')).toBe(2);
    expect(resolvePath({ a: [] }, ['a', 'length'])).toBe(0);
  });

  it('finds nothing in the empty string, not even a length (jsonpath-plus stops at a falsy value)', () => {
    expect(at('$.empty.length')).toBeUndefined();
    expect(at('$.empty[0]')).toBeUndefined();
  });

  it('follows own properties only: inherited members are undefined', () => {
    expect(resolvePath({}, ['toString'])).toBeUndefined();
    expect(resolvePath({}, ['hasOwnProperty'])).toBeUndefined();
    expect(resolvePath({}, ['valueOf'])).toBeUndefined();
    expect(resolvePath([], ['map'])).toBeUndefined();
    expect(resolvePath(Object.create({ inherited: 1 }), ['inherited'])).toBeUndefined();
    // Strings: only their own indexes and length, none of String.prototype.
    for (const member of ['toString', 'valueOf', 'charAt', 'at', 'slice', 'hasOwnProperty', 'constructor', '__proto__']) {
      expect(resolvePath({ s: 'abc' }, ['s', member]), member).toBeUndefined();
      expect(resolvePath({ a: ['x'] }, ['a', member]), member).toBeUndefined();
    }
    expect(resolvePath({ own: 1 }, ['own'])).toBe(1);
  });

  it('treats a numeric segment on an object and a string segment on an array as property names', () => {
    expect(resolvePath({ 0: 'zero' }, [0])).toBe('zero');
    expect(resolvePath(['x', 'y'], ['1'])).toBe('y');
  });

  it('is undefined on a root that is neither an object nor a string', () => {
    expect(resolvePath(undefined, ['a'])).toBeUndefined();
    expect(resolvePath(null, ['a'])).toBeUndefined();
    expect(resolvePath(42, ['a'])).toBeUndefined();
    expect(resolvePath(true, ['length'])).toBeUndefined();
    expect(resolvePath('text', ['a'])).toBeUndefined();
  });

  it('reads into a string root as into a string on the way (json-rules-engine itself hands the resolver objects only)', () => {
    expect(resolvePath('text', [0])).toBe('t');
    expect(resolvePath('text', ['length'])).toBe(4);
  });
});

describe('resolvePathString (the resolver json-rules-engine calls)', () => {
  it('resolves valid paths', () => {
    expect(resolvePathString({ a: { b: [1, 2] } }, '$.a.b[1]')).toBe(2);
    expect(resolvePathString({ name: 'abc' }, '$.name[0]')).toBe('a');
    expect(resolvePathString({ name: 'abc' }, '$.name.length')).toBe(3);
  });

  it('answers undefined for paths it does not accept, whatever the value', () => {
    expect(resolvePathString({ a: 1 }, '$..a')).toBeUndefined();
    expect(resolvePathString({ constructor: 'own' }, '$.constructor')).toBeUndefined();
    expect(resolvePathString({}, '$.toString')).toBeUndefined();
    expect(resolvePathString({ a: 1 }, 'a')).toBeUndefined();
  });

  it('reads a key JSONPath would give a meaning as that key (docs/rules.md; jsonpath-plus reads a union, a wildcard, the root)', () => {
    expect(resolvePathString({ 'a,b': 1, a: 2, b: 3 }, "$['a,b']")).toBe(1);
    expect(resolvePathString({ '*': 1, a: 2 }, "$['*']")).toBe(1);
    expect(resolvePathString({ $: 1 }, '$.$')).toBe(1);
    expect(resolvePathString({ a: { b: 1 } }, '$.a.$')).toBeUndefined();
  });

  it('gives the same answer on repeated calls (the parse cache does not change results)', () => {
    const value = { x: { y: 'z' } };
    expect(resolvePathString(value, '$.x.y')).toBe('z');
    expect(resolvePathString(value, '$.x.y')).toBe('z');
    expect(resolvePathString({ x: {} }, '$.x.y')).toBeUndefined();
  });
});
