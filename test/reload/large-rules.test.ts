/**
 * A rule set at the limits loads without holding up the event loop: it is
 * read and checked in a worker thread, and compiled on the event loop one
 * placement at a time, yielding in between. Asserted by structure (which
 * thread checked, how many slices), not by timing: CI machines are busy.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRules } from '../../load/bench/rules.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createRuleRegistry } from '../../src/reload/registry.js';
import { createWorkerLoader, type RulesLoader } from '../../src/reload/rules-loader.js';
import { DEFAULT_RULE_LIMITS } from '../../src/ruleset/limits.js';
import type { RuleSource } from '../../src/ruleset/layout.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nextbest-large-rules-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeFolder(name: string, sources: readonly RuleSource[]): string {
  const dir = join(root, name);
  for (const source of sources) {
    mkdirSync(dirname(join(dir, source.file)), { recursive: true });
    writeFileSync(join(dir, source.file), source.text);
  }
  return dir;
}

/** The worker loader, noting which thread checked each load. */
function watchedWorker(): { loader: RulesLoader; checkedOn: number[] } {
  const worker = createWorkerLoader();
  const checkedOn: number[] = [];
  return {
    checkedOn,
    loader: {
      async load(request) {
        const loaded = await worker.load(request);
        if (loaded.status === 'checked') checkedOn.push(loaded.threadId);
        return loaded;
      },
    },
  };
}

describe('a rule set near the limits', () => {
  // Ten placements of 50 rules and one at the most rules a placement may hold, with a journey, segments and 200 items.
  const rules = generateRules({ now: NOW, largeRules: DEFAULT_RULE_LIMITS.maxRulesPerPlacement });

  it('fits the default limits', () => {
    const largest = Math.max(...rules.sources.map((s) => Buffer.byteLength(s.text)));
    expect(largest).toBeGreaterThan(DEFAULT_RULE_LIMITS.maxFileBytes / 10);
    expect(largest).toBeLessThanOrEqual(DEFAULT_RULE_LIMITS.maxFileBytes);
  });

  it('is read and checked in a worker thread, then compiled one placement a slice, yielding to the event loop before each', async () => {
    const dir = writeFolder('at-limits', rules.sources);
    const { loader, checkedOn } = watchedWorker();
    let slices = 0;
    const registry = createRuleRegistry({
      dir,
      logger: silentLogger,
      now: () => NOW,
      loader,
      pause: async () => {
        slices++;
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    expect(await registry.reload()).toMatchObject({ ok: true, errors: [] });
    expect(checkedOn).toHaveLength(1);
    expect(checkedOn[0]).not.toBe(threadId);
    const placements = registry.current?.placements;
    expect(placements?.get(rules.largePlacement)?.rules).toHaveLength(DEFAULT_RULE_LIMITS.maxRulesPerPlacement);
    // Two slices a placement (read it back and index it; compile it), after the base and the stage rules.
    expect(slices).toBe(1 + 2 * (placements?.size ?? 0));
  });

  it('one rule more is an error naming the file, found in the worker; the last good rules keep serving', async () => {
    const dir = writeFolder('over-limit', rules.sources);
    const registry = createRuleRegistry({ dir, logger: silentLogger, now: () => NOW });
    expect((await registry.reload()).ok).toBe(true);
    const good = registry.current;
    const over = generateRules({ now: NOW, largeRules: DEFAULT_RULE_LIMITS.maxRulesPerPlacement + 1 });
    writeFolder('over-limit', over.sources);
    const outcome = await registry.reload();
    expect(outcome.errors).toEqual([
      {
        file: `placements/${rules.largePlacement}.json`,
        path: '$.rules',
        message: `has ${DEFAULT_RULE_LIMITS.maxRulesPerPlacement + 1} rules; at most ${DEFAULT_RULE_LIMITS.maxRulesPerPlacement} are allowed in one file (RULES_MAX_RULES_PER_PLACEMENT)`,
      },
    ]);
    expect(registry.current).toBe(good);
  });
});

describe('the worker loader', () => {
  it('answers "unchanged" without checking when the files still have the content key of the last load', async () => {
    const dir = writeFolder('key', generateRules({ now: NOW, placements: 1, largeRules: 5 }).sources);
    const loader = createWorkerLoader();
    const first = await loader.load({ dir, now: NOW, limits: DEFAULT_RULE_LIMITS });
    if (first.status !== 'checked') throw new Error('expected a check');
    expect(first.errors).toEqual([]);
    expect(await loader.load({ dir, now: NOW, limits: DEFAULT_RULE_LIMITS, unlessKey: first.key })).toEqual({ status: 'unchanged' });
    expect(await loader.load({ dir, now: NOW, limits: DEFAULT_RULE_LIMITS, unlessKey: 'another' })).toMatchObject({ status: 'checked', key: first.key });
  });

  it('reports a folder that does not exist as an error of the load', async () => {
    const loaded = await createWorkerLoader().load({ dir: join(root, 'missing'), now: NOW, limits: DEFAULT_RULE_LIMITS });
    expect(loaded).toMatchObject({ status: 'checked', parts: null, errors: [{ file: '.', path: '$', message: expect.stringContaining('does not exist') }] });
  });
});
