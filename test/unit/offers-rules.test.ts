/**
 * `nextbest offers` checks its rules once and hands them to each decision
 * worker (src/cli/offers-rules.ts, offers-local.ts): a worker compiles what it
 * is given rather than reading the folder again.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OffersError } from '../../src/cli/offers-error.js';
import { openLocalDecisions } from '../../src/cli/offers-local.js';
import { checkRulesOnce } from '../../src/cli/offers-rules.js';
import { FIXTURE_RULES_DIR } from '../http/harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function rulesCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nextbest-offers-rules-'));
  dirs.push(dir);
  cpSync(FIXTURE_RULES_DIR, dir, { recursive: true });
  return dir;
}

describe('the rules of an offers run', () => {
  it('are compiled by a worker as they were checked, whatever the folder holds by then', async () => {
    const dir = rulesCopy();
    const env = { RULES_DIR: dir, STORE: 'memory' };
    const rules = await checkRulesOnce(env);
    expect(rules).toMatchObject({ status: 'checked', errors: [] });
    rmSync(join(dir, 'catalog.json'));
    const local = await openLocalDecisions(env, rules);
    try {
      expect(local.snapshot.version).toBe((rules as { version: string }).version);
      expect(local.snapshot.placements.size).toBeGreaterThan(0);
    } finally {
      await local.close();
    }
    // Without them, the worker reads the folder itself, as before.
    await expect(openLocalDecisions(env)).rejects.toThrow('catalog.json');
  });

  it('answer a bad setting as an OffersError naming it', async () => {
    const failure = checkRulesOnce({ RULES_DIR: rulesCopy(), RULES_MAX_RULES_PER_PLACEMENT: 'many' });
    await expect(failure).rejects.toBeInstanceOf(OffersError);
    await expect(failure).rejects.toThrow('RULES_MAX_RULES_PER_PLACEMENT');
  });
});
