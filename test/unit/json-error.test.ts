import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinPath } from '../../src/domain/json.js';
import { findDuplicateKeys, locateJsonError, type DuplicateKey } from '../../src/ruleset/json-error.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('locateJsonError', () => {
  it('finds no error exactly when JSON.parse succeeds, on valid and damaged JSON', () => {
    const damaged = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', '\n', '-', '0', ' '), fc.boolean())
      .map(([json, at, insert, remove]) => {
        const i = at % (json.length + 1);
        return json.slice(0, i) + insert + json.slice(remove ? i + 1 : i);
      });
    fc.assert(
      fc.property(fc.oneof(fc.json(), damaged), (text) => {
        expect(locateJsonError(text) === null).toBe(parses(text));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['{ "stages": ["a", }', 1, 19],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3],
    ['{"a":1,}', 1, 8],
    ['[1,2', 1, 5],
    ['', 1, 1],
  ])('locates the error in %j at line %i, column %i', (text, line, column) => {
    expect(locateJsonError(text)).toMatchObject({ line, column });
  });
});

/** A JSON value whose objects are lists of entries, so that a key may repeat, as in a text. */
type Tree = { entries: Array<[string, Tree]> } | { items: Tree[] } | { leaf: unknown };

const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ leaf: fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)) }),
    // Few keys, so that they repeat; escapes and non-identifiers among them.
    fc.record({ entries: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c d', 'é', 'q\\"x', 'tab\\t', '\\u0041'), tie('tree')), { maxLength: 5 }) }),
    fc.record({ items: fc.array(tie('tree'), { maxLength: 4 }) }),
  ),
}));

/** The tree as text with whitespace from `space`, and the repeated keys in the order they appear. */
function written(root: Tree, space: string): { text: string; duplicates: DuplicateKey[] } {
  const duplicates: DuplicateKey[] = [];
  const write = (node: Tree, path: string): string => {
    if ('leaf' in node) return JSON.stringify(node.leaf);
    if ('items' in node) return `[${space}${node.items.map((item, index) => write(item, joinPath(path, index))).join(`,${space}`)}${space}]`;
    const seen = new Set<string>();
    const parts = node.entries.map(([raw, child]) => {
      // Keys are written with their escapes as given ('tab\\t' is the key "tab<TAB>").
      const key = JSON.parse(`"${raw}"`) as string;
      const keyPath = joinPath(path, key);
      if (seen.has(key)) duplicates.push({ path: keyPath, key });
      seen.add(key);
      return `"${raw}"${space}:${space}${write(child, keyPath)}`;
    });
    return `{${space}${parts.join(`,${space}`)}${space}}`;
  };
  return { text: write(root, '$'), duplicates };
}

describe('findDuplicateKeys', () => {
  it('finds every key repeated within one object, with its path, in the order of the text', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom('', ' ', '\n  ', '\r\n\t'), (root, space) => {
        const { text, duplicates } = written(root, space);
        expect(parses(text)).toBe(true);
        expect(findDuplicateKeys(text)).toEqual(duplicates);
      }),
      { numRuns: 2000 },
    );
  });

  it('names the path of a repeated key deep in arrays and objects', () => {
    const text = '{"rules": [{"name": "a"}, {"name": "b", "conditions": {"all": [{"fact": "x", "fact": "y"}]}, "name": "c"}]}';
    expect(findDuplicateKeys(text)).toEqual([
      { path: '$.rules[1].conditions.all[0].fact', key: 'fact' },
      { path: '$.rules[1].name', key: 'name' },
    ]);
  });
});
