#!/usr/bin/env node
/**
 * The `nextbest` command: serve the API, check a rules folder without serving
 * it, or run the rule tests of a rules folder.
 *
 * The service and the offers command are loaded when asked for: loading the
 * whole service (its HTTP app, metrics, Redis client) took about 300 ms of the
 * offers command's start (docs/performance.md, 2026-12-06, session 11).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRuleLimits } from '../config.js';
import type { RuleError } from '../domain/rule-files.js';
import { formatRuleError } from '../ruleset/format.js';
import { buildRuleset } from '../ruleset/build.js';
import { SCHEMAS_FOLDER, TESTS_FOLDER, type RuleSource } from '../ruleset/layout.js';
import { readRulesDir } from '../reload/read-rules-dir.js';
import { packageVersion } from '../version.js';
import { runRuleTests } from './rule-tests.js';
import { runSchemasCommand } from './schemas.js';

const USAGE = `usage: nextbest <command> [options]

commands:
  serve             serve the HTTP API (the same as npm start; configured by environment variables)
  validate [dir]    check a rules folder (default: $RULES_DIR, else ./rules); exit 1 on any error
  test [dir]        run the rule tests in <dir>/${TESTS_FOLDER}/*.json against the rules of <dir>
                    (default: $RULES_DIR, else ./rules); exit 1 if any case fails
  schemas [dir]     write the rule files' JSON Schemas, for editors, into <dir>/${SCHEMAS_FOLDER}/
                    (default: $RULES_DIR, else ./rules)
  offers            decisions for a list of recipients, for an email send (nextbest offers --help)
  help              show this help
  version           print the version

options:
  -h, --help        show this help
  -v, --version     print the version
`;


export async function runCli(argv: string[]): Promise<number> {
  // Its own options, parsed by itself.
  if (argv[0] === 'offers') return (await import('./offers.js')).runOffersCommand(argv.slice(1));
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
  });
  const [command, ...rest] = positionals;
  if (values.version || command === 'version') {
    process.stdout.write(`nextbest ${packageVersion()}\n`);
    return 0;
  }
  if (values.help || command === 'help' || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 1 : 0;
  }
  switch (command) {
    case 'serve':
      await (await import('../main.js')).runServer();
      return -1; // keeps running until a signal
    case 'validate':
      return validate(rest[0] ?? process.env.RULES_DIR ?? './rules');
    case 'test':
      return test(rest[0] ?? process.env.RULES_DIR ?? './rules');
    case 'schemas':
      return runSchemasCommand(rest[0] ?? process.env.RULES_DIR ?? './rules');
    default:
      process.stderr.write(`nextbest: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

interface RulesFolder {
  sources: RuleSource[];
  /** How the folder is checked: the service's limits (from the same variables), and the files that could not be read. */
  check: { maxRulesPerPlacement: number; readErrors: RuleError[] };
}

/** The rules folder's files (with the rule tests, or not), read as the service reads them, or null after saying why it cannot be read. */
async function readRulesOrSay(dir: string, ruleTests: boolean): Promise<RulesFolder | null> {
  try {
    const limits = loadRuleLimits(process.env);
    const { sources, errors } = await readRulesDir(dir, { maxFileBytes: limits.maxFileBytes, ruleTests });
    return { sources, check: { maxRulesPerPlacement: limits.maxRulesPerPlacement, readErrors: errors } };
  } catch (err) {
    process.stderr.write(`nextbest: ${(err as Error).message}\n`);
    return null;
  }
}

async function validate(dir: string): Promise<number> {
  const folder = await readRulesOrSay(dir, false);
  if (!folder) return 1;
  const result = buildRuleset(folder.sources, { now: Date.now(), ...folder.check });
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

async function test(dir: string): Promise<number> {
  const folder = await readRulesOrSay(dir, true);
  if (!folder) return 1;
  const report = await runRuleTests(folder.sources, { now: Date.now(), ...folder.check });
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

  for (const error of report.ruleErrors) out(formatRuleError(error));
  let fileErrors = 0;
  for (const file of report.files) {
    for (const error of file.errors) out(formatRuleError(error));
    fileErrors += file.errors.length;
    for (const result of file.cases) {
      out(`${result.passed ? '✓' : '✗'} ${file.file} › ${result.name}`);
      for (const failure of result.failures) out(`    ${failure}`);
    }
  }
  const inTests = fileErrors > 0 ? `, ${plural(fileErrors, 'error')} in test files` : '';
  if (report.ruleErrors.length > 0) {
    out(`${plural(report.ruleErrors.length, 'error')} in the rules of ${dir}, so no rule test ran${inTests}`);
    return 1;
  }
  if (report.passed + report.failed === 0 && fileErrors === 0) {
    out(`no rule tests in ${join(dir, TESTS_FOLDER)}`);
    return 0;
  }
  out(`${report.passed} passed, ${report.failed} failed${inTests}`);
  return report.failed > 0 || fileErrors > 0 ? 1 : 0;
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
