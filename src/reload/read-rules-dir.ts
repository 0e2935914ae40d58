import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuleSource } from '../ruleset/build.js';

/** Folders below the rules folder whose .json files are rule files or rule tests. */
const SUBFOLDERS = ['placements', 'tests'] as const;

export class RulesDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesDirError';
  }
}

/**
 * Reads every .json file of a rules folder (and of its placements/ and
 * tests/ folders) as text. Hidden entries are skipped: editors' swap files,
 * and the "..data" folders of a Kubernetes ConfigMap mount (the visible names
 * are symlinks into them, and are followed).
 */
export async function readRulesDir(dir: string): Promise<RuleSource[]> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new RulesDirError(`rules folder ${dir} does not exist or is not a folder`);
  const sources: RuleSource[] = [];
  await readJsonFiles(dir, '', sources);
  for (const sub of SUBFOLDERS) {
    const subInfo = await stat(join(dir, sub)).catch(() => null);
    if (subInfo?.isDirectory()) await readJsonFiles(join(dir, sub), `${sub}/`, sources);
  }
  return sources;
}

async function readJsonFiles(dir: string, prefix: string, out: RuleSource[]): Promise<void> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
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
