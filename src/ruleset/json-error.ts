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
  // The keys and indexes down to the value being read: a path is only written out for a repeated key.
  const segments: Array<string | number> = [];
  const length = text.length;
  let i = 0;
  const fail = (message: string): never => {
    throw new ScanError(message, i);
  };
  const ws = (): void => {
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c !== SPACE && c !== NEWLINE && c !== RETURN && c !== TAB) return;
    }
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe(text, i)}`);
  };
  /** Reads a string from its opening quote; returns its value when `wanted` (a key), else ''. */
  const string = (wanted: boolean): string => {
    const start = i;
    let escaped = false;
    i++; // opening quote
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        if (!wanted) return '';
        return escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
      }
      if (c === BACKSLASH) {
        escaped = true;
        const next = text.charCodeAt(i + 1);
        if (next === LOWER_U) {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) fail('bad \\u escape in a string');
          i += 6;
        } else if (SIMPLE_ESCAPES.has(next)) {
          i += 2;
        } else {
          fail('bad escape in a string');
        }
        continue;
      }
      if (c < SPACE) fail('control character in a string (escape it, e.g. \\n)');
      i++;
    }
    return fail('unterminated string');
  };
  const number = (): void => {
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) return fail(`unexpected ${describe(text, i)}`);
    i += match[0].length;
  };
  /** After a member or an element: past a comma (false: another follows) or the container's end (true). */
  const ended = (close: number, expected: string): boolean => {
    ws();
    const after = text.charCodeAt(i);
    if (after !== COMMA && after !== close) fail(`expected ${expected}, found ${describe(text, i)}`);
    i++;
    return after === close;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const c = text.charCodeAt(i);
    if (c === OPEN_BRACE) {
      i++;
      ws();
      if (text.charCodeAt(i) === CLOSE_BRACE) {
        i++;
        return;
      }
      const keys = new Set<string>();
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== QUOTE) fail(`expected a double-quoted property name, found ${describe(text, i)}`);
        const key = string(true);
        if (keys.has(key)) duplicates.push({ path: pathOf([...segments, key]), key });
        keys.add(key);
        ws();
        if (text.charCodeAt(i) !== COLON) fail(`expected ':' after a property name, found ${describe(text, i)}`);
        i++;
        segments.push(key);
        value(depth + 1);
        segments.pop();
        if (ended(CLOSE_BRACE, "',' or '}' after a property value")) return;
      }
    }
    if (c === OPEN_BRACKET) {
      i++;
      ws();
      if (text.charCodeAt(i) === CLOSE_BRACKET) {
        i++;
        return;
      }
      for (let index = 0; ; index++) {
        segments.push(index);
        value(depth + 1);
        segments.pop();
        if (ended(CLOSE_BRACKET, "',' or ']' after an array element")) return;
      }
    }
    if (c === QUOTE) {
      string(false);
      return;
    }
    if (c === LOWER_T) return literal('true');
    if (c === LOWER_F) return literal('false');
    if (c === LOWER_N) return literal('null');
    if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) return number();
    fail(`unexpected ${describe(text, i)}`);
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1; // a byte-order mark, as some editors write
    value(0);
    ws();
    if (i < length) fail(`unexpected ${describe(text, i)} after the end of the JSON value`);
    return { error: null, duplicates };
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    const before = text.slice(0, err.offset);
    const line = before.split('\n').length;
    return { error: { line, column: err.offset - before.lastIndexOf('\n'), message: err.message }, duplicates };
  }
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** The characters after a backslash other than `u`: " \ / b f n r t. */
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((ch) => ch.charCodeAt(0)));
const HEX4 = /[0-9a-fA-F]{4}/y;
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

function pathOf(segments: ReadonlyArray<string | number>): string {
  let path = '$';
  for (const segment of segments) path = joinPath(path, segment);
  return path;
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
