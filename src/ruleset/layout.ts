/**
 * The rules folder's layout, known here and nowhere else: which files are
 * rules, which are rule tests, and where the JSON Schemas for editors go. The
 * loader (src/ruleset), the reader and the watcher (src/reload) and the
 * command line (src/cli) all ask this module.
 *
 *   journey.json         stages and the rules that infer them (optional)
 *   catalog.json         every item that can be served
 *   segments.json        named audiences (optional)
 *   placements/*.json    one placement a file
 *   tests/*.json         rule tests, run by `nextbest test`; never rules
 *   schemas/             written by `nextbest schemas`; never read
 */

export const JOURNEY_FILE = 'journey.json';
export const CATALOG_FILE = 'catalog.json';
export const SEGMENTS_FILE = 'segments.json';
export const PLACEMENTS_FOLDER = 'placements';
export const TESTS_FOLDER = 'tests';
export const SCHEMAS_FOLDER = 'schemas';

/** The folders below the rules folder whose files are read; any other folder is ignored. */
export const READ_SUBFOLDERS: readonly string[] = [PLACEMENTS_FOLDER, TESTS_FOLDER];

/** The rule files, as the loader names them when it meets another file. */
export const RULE_FILES_DESCRIPTION = `${JOURNEY_FILE}, ${CATALOG_FILE}, ${SEGMENTS_FILE}, ${PLACEMENTS_FOLDER}/*.json`;

/** A rule file's text, named by its path relative to the rules folder ("placements/home-hero.json"). */
export interface RuleSource {
  file: string;
  text: string;
}

export type RuleFileKind = 'journey' | 'catalog' | 'segments' | 'placement' | 'test' | 'other';

const PLACEMENT_FILE = new RegExp(`^${PLACEMENTS_FOLDER}/[^/]+\\.json$`);
const TEST_FILE = new RegExp(`^${TESTS_FOLDER}/[^/]+\\.json$`);

/** What a file is, by its path relative to the rules folder. */
export function classifyRuleFile(file: string): RuleFileKind {
  if (file === JOURNEY_FILE) return 'journey';
  if (file === CATALOG_FILE) return 'catalog';
  if (file === SEGMENTS_FILE) return 'segments';
  if (PLACEMENT_FILE.test(file)) return 'placement';
  if (TEST_FILE.test(file)) return 'test';
  return 'other';
}

/**
 * Whether a folder entry's name is one to read: a .json file that is not
 * hidden. Hidden entries are editors' swap files and the "..data" folders of
 * a Kubernetes ConfigMap mount (the visible names are symlinks into them).
 */
export function isReadableName(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** Whether a folder directly below the rules folder holds files to read. */
export function isReadSubfolder(name: string): boolean {
  return READ_SUBFOLDERS.includes(name);
}
