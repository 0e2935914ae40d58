/**
 * `nextbest test [dir]` as a user runs it (contract section 6): the real CLI
 * in a child process, on the example rules and on copies with a broken
 * expectation, broken rules and no tests.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './spawn.js';

const CLI = 'src/cli/main.ts';
const tmp = mkdtempSync(join(tmpdir(), 'nextbest-rule-tests-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rulesCopy(name: string): string {
  const dir = join(tmp, name);
  cpSync('rules', dir, { recursive: true });
  return dir;
}

describe('nextbest test', () => {
  it('passes on the example rules, listing every case', async () => {
    const result = await run(CLI, ['test', 'rules'], {});
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.slice(0, -1).every((line) => line.startsWith('✓ tests/'))).toBe(true);
    expect(lines).toContain('✓ tests/home-hero.json › a cart abandoner sees the cart reminder');
    expect(lines.at(-1)).toBe(`${lines.length - 1} passed, 0 failed`);
  });

  it('uses RULES_DIR when no folder is given', async () => {
    const result = await run(CLI, ['test'], { RULES_DIR: 'rules' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
  });

  it('exits 1 with a ✗ line and the failure when an expectation breaks', async () => {
    const dir = rulesCopy('broken-expectation');
    const file = join(dir, 'tests', 'home-hero.json');
    const tests = JSON.parse(readFileSync(file, 'utf8')) as { cases: Array<{ name: string; expect: Record<string, unknown> }> };
    const target = tests.cases.find((c) => c.name === 'a cart abandoner sees the cart reminder');
    if (!target) throw new Error('the example case is gone');
    target.expect = { items: ['hero-welcome'] };
    writeFileSync(file, JSON.stringify(tests, null, 2));

    const result = await run(CLI, ['test', dir], {});
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    const failed = lines.indexOf('✗ tests/home-hero.json › a cart abandoner sees the cart reminder');
    expect(failed).toBeGreaterThan(-1);
    expect(lines[failed + 1]).toBe('    items: expected ["hero-welcome"], got ["hero-cart-reminder"] (from rule cart-abandoners)');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 1 failed$/);
  });

  it('exits 1 naming the file and path of a bad test file', async () => {
    const dir = rulesCopy('bad-test-file');
    writeFileSync(join(dir, 'tests', 'zz-typo.json'), JSON.stringify({ cases: [{ name: 'typo', placement: 'home-hero', expect: { item: [] } }] }));
    const result = await run(CLI, ['test', dir], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('tests/zz-typo.json: $.cases[0].expect.item: unknown key\n');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed, 1 error in test files$/);
  });

  it('exits 1 listing the rule errors when the rules do not build', async () => {
    const dir = rulesCopy('broken-rules');
    writeFileSync(join(dir, 'segments.json'), '{ "segments": { ');
    const result = await run(CLI, ['test', dir], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^segments\.json: \$: malformed JSON: /m);
    expect(result.stdout).not.toContain('✓');
    expect(result.stdout).toContain('so no rule test ran');
  });

  it('applies the rule limits of RULES_MAX_RULES_PER_PLACEMENT, as the service would', async () => {
    const result = await run(CLI, ['test', 'rules'], { RULES_MAX_RULES_PER_PLACEMENT: '1' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^placements\/home-hero\.json: \$\.rules: has \d+ rules; at most 1 are allowed/m);
    expect(result.stdout).toContain('so no rule test ran');
  });

  it('exits 0 saying so when the folder has no tests', async () => {
    const dir = rulesCopy('no-tests');
    rmSync(join(dir, 'tests'), { recursive: true });
    const result = await run(CLI, ['test', dir], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`no rule tests in ${join(dir, 'tests')}\n`);
  });

  it('exits 1 when the folder does not exist', async () => {
    const result = await run(CLI, ['test', join(tmp, 'missing')], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not exist');
  });
});
