/**
 * A rule file's text to a JSON value, or errors with file and JSON path: where
 * malformed JSON first goes wrong (line and column), nesting too deep for the
 * recursive checks, a key repeated within one object (JSON.parse would keep
 * the last one silently) and keys that could reach object prototypes. Rule
 * test files (tests/*.json) are read the same way.
 */
import { exceedsDepth, findForbiddenKey } from '../domain/json.js';
import type { RuleError } from '../domain/rule-files.js';
import { findDuplicateKeys, locateJsonError } from './json-error.js';
import type { RuleSource } from './layout.js';

/** Far beyond any sensible nesting of conditions; keeps the recursive checks off the stack limit. */
const MAX_RULE_FILE_DEPTH = 100;

/** The file's JSON value; undefined after adding to `errors` why there is none. */
export function parseRuleJson(source: RuleSource, errors: RuleError[]): unknown {
  let value: unknown;
  try {
    // A byte-order mark is legal in a file but not to JSON.parse.
    value = JSON.parse(source.text.charCodeAt(0) === 0xfeff ? source.text.slice(1) : source.text);
  } catch (err) {
    const located = locateJsonError(source.text);
    const message = located
      ? `${located.message} (line ${located.line}, column ${located.column})`
      : (err as Error).message;
    errors.push({ file: source.file, path: '$', message: `malformed JSON: ${message}` });
    return undefined;
  }
  if (exceedsDepth(value, MAX_RULE_FILE_DEPTH)) {
    errors.push({ file: source.file, path: '$', message: `nests deeper than ${MAX_RULE_FILE_DEPTH} levels` });
    return undefined;
  }
  const duplicates = findDuplicateKeys(source.text);
  for (const duplicate of duplicates) {
    errors.push({ file: source.file, path: duplicate.path, message: `"${duplicate.key}" appears twice in the same object; only the last one would count` });
  }
  if (duplicates.length > 0) return undefined;
  const forbidden = findForbiddenKey(value);
  if (forbidden) {
    errors.push({ file: source.file, path: forbidden, message: 'this key is not allowed (it could reach object prototypes)' });
    return undefined;
  }
  return value;
}
