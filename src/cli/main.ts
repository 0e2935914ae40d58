#!/usr/bin/env node
/**
 * The `nextbest` command: serve the API, or check a rules folder without serving it.
 */
import { parseArgs } from 'node:util';
import { formatRuleError } from '../ruleset/format.js';
import { buildRuleset } from '../ruleset/build.js';
import { readRulesDir } from '../reload/read-rules-dir.js';
import { runServer } from '../main.js';

const USAGE = `usage: nextbest <command> [options]

commands:
  serve             serve the HTTP API (the same as npm start; configured by environment variables)
  validate [dir]    check a rules folder (default: $RULES_DIR, else ./rules); exit 1 on any error

options:
  -h, --help        show this help
`;

export async function runCli(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 1 : 0;
  }
  switch (command) {
    case 'serve':
      await runServer();
      return -1; // keeps running until a signal
    case 'validate':
      return validate(rest[0] ?? process.env.RULES_DIR ?? './rules');
    default:
      process.stderr.write(`nextbest: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

async function validate(dir: string): Promise<number> {
  let sources;
  try {
    sources = await readRulesDir(dir);
  } catch (err) {
    process.stderr.write(`nextbest: ${(err as Error).message}\n`);
    return 1;
  }
  const result = buildRuleset(sources, { now: Date.now() });
  for (const warning of result.warnings) process.stdout.write(`warning: ${formatRuleError(warning)}\n`);
  for (const error of result.errors) process.stdout.write(`${formatRuleError(error)}\n`);
  if (result.errors.length > 0) {
    process.stdout.write(`${result.errors.length} error${result.errors.length > 1 ? 's' : ''} in ${dir}\n`);
    return 1;
  }
  const snapshot = result.snapshot;
  process.stdout.write(
    `${dir}: valid (version ${snapshot?.version}; ${snapshot?.placements.size} placements, ${snapshot?.catalog.size} items, ${snapshot?.stageRules.length} stage rules)\n`,
  );
  return 0;
}

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`nextbest: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
