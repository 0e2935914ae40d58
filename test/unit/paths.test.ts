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

  it('is undefined for anything missing, past the end, or not an object on the way', () => {
    expect(at('$.missing')).toBeUndefined();
    expect(at('$.address.zip')).toBeUndefined();
    expect(at('$.orders[5]')).toBeUndefined();
    expect(at('$.orders[5].total')).toBeUndefined();
    expect(at('$.nothing.x')).toBeUndefined();
    expect(at('$.tier.length')).toBeUndefined();
    expect(at('$.tier[0]')).toBeUndefined();
    expect(at('$.zero.x')).toBeUndefined();
  });

  it('follows own properties only: inherited members are undefined', () => {
    expect(resolvePath({}, ['toString'])).toBeUndefined();
    expect(resolvePath({}, ['hasOwnProperty'])).toBeUndefined();
    expect(resolvePath({}, ['valueOf'])).toBeUndefined();
    expect(resolvePath([], ['map'])).toBeUndefined();
    expect(resolvePath(Object.create({ inherited: 1 }), ['inherited'])).toBeUndefined();
    expect(resolvePath({ own: 1 }, ['own'])).toBe(1);
  });

  it('treats a numeric segment on an object and a string segment on an array as property names', () => {
    expect(resolvePath({ 0: 'zero' }, [0])).toBe('zero');
    expect(resolvePath(['x', 'y'], ['1'])).toBe('y');
  });

  it('is undefined on a non-object root', () => {
    expect(resolvePath(undefined, ['a'])).toBeUndefined();
    expect(resolvePath(null, ['a'])).toBeUndefined();
    expect(resolvePath('text', [0])).toBeUndefined();
    expect(resolvePath(42, ['a'])).toBeUndefined();
  });
});

describe('resolvePathString (the resolver json-rules-engine calls)', () => {
  it('resolves valid paths', () => {
    expect(resolvePathString({ a: { b: [1, 2] } }, '$.a.b[1]')).toBe(2);
  });

  it('answers undefined for paths it does not accept, whatever the value', () => {
    expect(resolvePathString({ a: 1 }, '$..a')).toBeUndefined();
    expect(resolvePathString({ constructor: 'own' }, '$.constructor')).toBeUndefined();
    expect(resolvePathString({}, '$.toString')).toBeUndefined();
    expect(resolvePathString({ a: 1 }, 'a')).toBeUndefined();
  });

  it('gives the same answer on repeated calls (the parse cache does not change results)', () => {
    const value = { x: { y: 'z' } };
    expect(resolvePathString(value, '$.x.y')).toBe('z');
    expect(resolvePathString(value, '$.x.y')).toBe('z');
    expect(resolvePathString({ x: {} }, '$.x.y')).toBeUndefined();
  });
});
