import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isReadableName, READ_SUBFOLDERS, type RuleSource } from '../ruleset/layout.js';

export class RulesDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesDirError';
  }
}

/**
 * Reads every file of a rules folder that src/ruleset/layout.ts names (its
 * .json files and those of placements/ and tests/) as text. Symlinks are
 * followed: a Kubernetes ConfigMap mount's visible names point into a hidden
 * "..data" folder.
 */
export async function readRulesDir(dir: string): Promise<RuleSource[]> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new RulesDirError(`rules folder ${dir} does not exist or is not a folder`);
  const sources: RuleSource[] = [];
  await readJsonFiles(dir, '', sources);
  for (const sub of READ_SUBFOLDERS) {
    const subInfo = await stat(join(dir, sub)).catch(() => null);
    if (subInfo?.isDirectory()) await readJsonFiles(join(dir, sub), `${sub}/`, sources);
  }
  return sources;
}

async function readJsonFiles(dir: string, prefix: string, out: RuleSource[]): Promise<void> {
  const names = (await readdir(dir)).filter(isReadableName).sort();
  for (const name of names) {
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) continue;
      out.push({ file: `${prefix}${name}`, text: await readFile(path, 'utf8') });
    } catch (err) {
      // Deleted between listing and reading (an editor's rename-save): the next change event reloads again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
