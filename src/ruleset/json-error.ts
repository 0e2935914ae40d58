/**
 * A JSON syntax scanner for rule files, for what JSON.parse does not tell:
 * where a text first goes wrong, as line and column (Node's message names a
 * position only for some errors), and keys repeated within one object (which
 * JSON.parse resolves silently by keeping the last).
 */
import { joinPath } from '../domain/json.js';

export interface JsonSyntaxError {
  line: number;
  column: number;
  message: string;
}

export function locateJsonError(text: string): JsonSyntaxError | null {
  return scanJson(text).error;
}

export interface DuplicateKey {
  /** The JSON path of the repeated key. */
  path: string;
  key: string;
}

/**
 * Keys repeated within one object. JSON.parse silently keeps the last one, so
 * a segment or rule defined twice would lose its first definition unnoticed.
 */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  return scanJson(text).duplicates;
}

function scanJson(text: string): { error: JsonSyntaxError | null; duplicates: DuplicateKey[] } {
  const duplicates: DuplicateKey[] = [];
  let i = 0;
  const fail = (message: string): never => {
    throw new ScanError(message, i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe(text, i)}`);
  };
  const string = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length) {
      const ch = text[i] as string;
      if (ch === '"') {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape in a string');
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
          i += 2;
        } else {
          fail('bad escape in a string');
        }
        continue;
      }
      if (ch < ' ') fail('control character in a string (escape it, e.g. \\n)');
      i++;
    }
    return fail('unterminated string');
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match || match[0] === '-' || match[0] === '') fail(`unexpected ${describe(text, i)}`);
    i += (match as RegExpExecArray)[0].length;
  };
  const value = (depth: number, path: string): void => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      const keys = new Set<string>();
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a double-quoted property name, found ${describe(text, i)}`);
        const key = string();
        const keyPath = joinPath(path, key);
        if (keys.has(key)) duplicates.push({ path: keyPath, key });
        keys.add(key);
        ws();
        if (text[i] !== ':') fail(`expected ':' after a property name, found ${describe(text, i)}`);
        i++;
        value(depth + 1, keyPath);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}' after a property value, found ${describe(text, i)}`);
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let index = 0; ; index++) {
        value(depth + 1, joinPath(path, index));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']' after an array element, found ${describe(text, i)}`);
      }
    }
    if (ch === '"') {
      string();
      return;
    }
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail(`unexpected ${describe(text, i)}`);
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1; // a byte-order mark, as some editors write
    value(0, '$');
    ws();
    if (i < text.length) fail(`unexpected ${describe(text, i)} after the end of the JSON value`);
    return { error: null, duplicates };
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    const before = text.slice(0, err.offset);
    const line = before.split('\n').length;
    return { error: { line, column: err.offset - before.lastIndexOf('\n'), message: err.message }, duplicates };
  }
}

class ScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

function describe(text: string, i: number): string {
  if (i >= text.length) return 'end of file';
  return JSON.stringify(text[i]);
}
