/**
 * `nextbest schemas [dir]`: writes the rule files' JSON Schemas into
 * `<dir>/schemas/`, where the rule files' "$schema" keys point. The loader
 * reads only top-level, placements/ and tests/ files, so the folder is never
 * mistaken for rules.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RULE_FILE_SCHEMA_KINDS, ruleFileJsonSchemas, ruleFileSchemaName } from '../ruleset/json-schemas.js';
import { SCHEMAS_FOLDER } from '../ruleset/layout.js';

export interface RuleSchemaFile {
  /** The file name within `schemas/`: "placement.schema.json". */
  name: string;
  text: string;
}

/** Each schema as the text written to disk: two-space indents and a final newline. */
export function renderRuleSchemaFiles(): RuleSchemaFile[] {
  const schemas = ruleFileJsonSchemas();
  return RULE_FILE_SCHEMA_KINDS.map((kind) => ({
    name: ruleFileSchemaName(kind),
    text: `${JSON.stringify(schemas[kind], null, 2)}\n`,
  }));
}

/** Writes every schema into `<rulesDir>/schemas/`; returns the paths written. */
export async function writeRuleSchemas(rulesDir: string): Promise<string[]> {
  const info = await stat(rulesDir).catch(() => null);
  // Refuse to create a rules folder from a typo; the schemas folder itself may be new.
  if (!info?.isDirectory()) throw new Error(`rules folder ${rulesDir} does not exist or is not a folder`);
  const dir = join(rulesDir, SCHEMAS_FOLDER);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const file of renderRuleSchemaFiles()) {
    const path = join(dir, file.name);
    await writeFile(path, file.text, 'utf8');
    written.push(path);
  }
  return written;
}

/** The command: writes the schemas and lists them; 1 when the folder is missing or unwritable. */
export async function runSchemasCommand(rulesDir: string): Promise<number> {
  try {
    for (const path of await writeRuleSchemas(rulesDir)) process.stdout.write(`wrote ${path}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`nextbest: ${(err as Error).message}\n`);
    return 1;
  }
}
