import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { RuleError } from '../domain/rule-files.js';
import { isReadableName, READ_SUBFOLDERS, TESTS_FOLDER, type RuleSource } from '../ruleset/layout.js';
import { DEFAULT_RULE_LIMITS, formatBytes, RULE_LIMIT_VARIABLES } from '../ruleset/limits.js';

export class RulesDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesDirError';
  }
}

export interface ReadRulesOptions {
  /** A file larger than this is not read: it is reported instead. */
  maxFileBytes?: number;
  /** Whether to read the rule tests (tests/*.json) too; default true. Loading rules needs none of them. */
  ruleTests?: boolean;
}

export interface RulesDirContents {
  sources: RuleSource[];
  /**
   * Entries that are there but cannot be read (a broken or looping symlink, a
   * file over the size limit, no permission), each named relative to the rules
   * folder. Any one of them fails the load: skipping the file instead would
   * quietly drop a placement from rules that otherwise load fine.
   */
  errors: RuleError[];
}

/**
 * Reads every file of a rules folder that src/ruleset/layout.ts names (its
 * .json files and those of placements/ and tests/) as text. Symlinks are
 * followed: a Kubernetes ConfigMap mount's visible names point into a hidden
 * "..data" folder. Throws RulesDirError only when the folder itself is missing.
 */
export async function readRulesDir(dir: string, options: ReadRulesOptions = {}): Promise<RulesDirContents> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_RULE_LIMITS.maxFileBytes;
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new RulesDirError(`rules folder ${dir} does not exist or is not a folder`);
  const contents: RulesDirContents = { sources: [], errors: [] };
  await readJsonFiles(dir, '', maxFileBytes, contents);
  for (const sub of READ_SUBFOLDERS) {
    if (sub === TESTS_FOLDER && options.ruleTests === false) continue;
    const path = join(dir, sub);
    const subInfo = await stat(path).catch(async (err: NodeJS.ErrnoException) => {
      const problem = await unreadable(path, err);
      if (problem) contents.errors.push({ file: sub, path: '$', message: problem });
      return null;
    });
    if (subInfo?.isDirectory()) await readJsonFiles(path, `${sub}/`, maxFileBytes, contents);
  }
  return contents;
}

async function readJsonFiles(dir: string, prefix: string, maxFileBytes: number, out: RulesDirContents): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isReadableName).sort();
  } catch (err) {
    const problem = await unreadable(dir, err as NodeJS.ErrnoException);
    if (problem) out.errors.push({ file: prefix === '' ? '.' : prefix.slice(0, -1), path: '$', message: problem });
    return;
  }
  for (const name of names) {
    const file = `${prefix}${name}`;
    const result = await readRuleFile(join(dir, name), maxFileBytes);
    if (result === null) continue;
    if ('text' in result) out.sources.push({ file, text: result.text });
    else out.errors.push({ file, path: '$', message: result.problem });
  }
}

/** The file's text; null when it is gone or not a file (skipped); else why it cannot be read. */
async function readRuleFile(path: string, maxFileBytes: number): Promise<{ text: string } | { problem: string } | null> {
  try {
    // stat before opening: opening a named pipe would wait for a writer.
    const info = await stat(path);
    if (!info.isFile()) return null;
    if (info.size > maxFileBytes) return { problem: tooBig(info.size, maxFileBytes) };
    const bytes = await readFile(path);
    // It may have grown since.
    if (bytes.length > maxFileBytes) return { problem: tooBig(bytes.length, maxFileBytes) };
    return { text: bytes.toString('utf8') };
  } catch (err) {
    const problem = await unreadable(path, err as NodeJS.ErrnoException);
    return problem === null ? null : { problem };
  }
}

function tooBig(size: number, maxFileBytes: number): string {
  let [actual, limit] = [formatBytes(size), formatBytes(maxFileBytes)];
  // Rounded, a file just over the limit would read "is 2 KB; ... at most 2 KB".
  if (actual === limit) [actual, limit] = [`${size} bytes`, `${maxFileBytes} bytes`];
  return `is ${actual}; a rule file may be at most ${limit} (${RULE_LIMIT_VARIABLES.maxFileBytes})`;
}

/**
 * Why an entry that could not be opened cannot be read, in words that name
 * no server path; null when it is simply gone (deleted between listing and
 * reading, as an editor's rename-save does: the next change event reloads).
 */
async function unreadable(path: string, err: NodeJS.ErrnoException): Promise<string | null> {
  if (err.code === 'ELOOP') return 'is a symbolic link that loops back on itself';
  if (err.code === 'ENOENT') {
    const link = await lstat(path).catch(() => null);
    if (!link?.isSymbolicLink()) return null;
    const target = await readlink(path).catch(() => null);
    // A relative target says where it points without revealing the server's folders.
    const named = target !== null && !isAbsolute(target) ? JSON.stringify(target) : 'a file';
    return `is a symbolic link to ${named} that does not exist`;
  }
  return describeError(err);
}

function describeError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    default:
      // The message of a file system error repeats the absolute path; the code says what went wrong.
      return `cannot be read (${err.code ?? 'unknown error'})`;
  }
}
