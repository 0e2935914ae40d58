/**
 * The marketers' own rule tests (rules/tests/*.json) as part of `npm test`:
 * every case of the example rules folder is one `it`, named as in the file,
 * so a rule change that breaks a marketer's expectation fails the build with
 * the same failure lines `nextbest test` prints.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRuleTests } from '../../src/cli/rule-tests.js';
import { ruleTestFileSchema } from '../../src/domain/rule-tests.js';
import { buildRuleset } from '../../src/ruleset/build.js';
import { classifyRuleFile } from '../../src/ruleset/layout.js';
import { formatRuleError } from '../../src/ruleset/format.js';
import { readRulesDir } from '../../src/reload/read-rules-dir.js';

const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));

const { sources } = await readRulesDir(RULES_DIR);
// Every test file pins its clock, so the real one only matters for build warnings.
const report = await runRuleTests(sources, { now: Date.now() });

describe('example rules: rule tests', () => {
  it('the rules build without errors', () => {
    expect(report.ruleErrors.map(formatRuleError)).toEqual([]);
  });

  it('every placement has rule tests', () => {
    const placements = [...(buildRuleset(sources, { now: Date.now() }).snapshot?.placements.keys() ?? [])];
    const tested = new Set(
      sources
        .filter((s) => classifyRuleFile(s.file) === 'test')
        .flatMap((s) => ruleTestFileSchema.safeParse(JSON.parse(s.text)).data?.cases ?? [])
        .map((c) => c.placement),
    );
    expect(placements.length).toBeGreaterThan(0);
    expect(placements.filter((p) => !tested.has(p))).toEqual([]);
  });
});

for (const file of report.files) {
  describe(file.file, () => {
    it('is a valid rule test file', () => {
      expect(file.errors.map(formatRuleError)).toEqual([]);
    });

    for (const result of file.cases) {
      it(result.name, () => {
        expect(result.failures, `rules/${file.file} › ${result.name}`).toEqual([]);
      });
    }
  });
}
