import { describe, expect, it } from 'vitest';
import { buildRuleset } from '../../src/ruleset/build.js';
import type { RuleSource } from '../../src/ruleset/layout.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const PAST = { activeFrom: '2026-01-01', activeUntil: '2026-02-01' };
const DECEMBER = { activeFrom: '2026-12-01', activeUntil: '2026-12-31' };
const JANUARY = { activeFrom: '2027-01-01', activeUntil: '2027-02-01' };

function build(items: object[], rules: object[], fallback: string[] = []) {
  const sources: RuleSource[] = [
    { file: 'catalog.json', text: JSON.stringify({ items }) },
    { file: 'placements/p.json', text: JSON.stringify({ placement: 'p', fallback, rules }) },
  ];
  const result = buildRuleset(sources, { now: NOW });
  expect(result.errors).toEqual([]);
  return result.warnings.map((w) => `${w.file}: ${w.path}: ${w.message}`);
}

const rule = (name: string, items: string[], extra: object = {}) => ({
  name,
  conditions: { all: [] },
  event: { type: 'serve', params: { items } },
  ...extra,
});

describe('warnings for rules that can never serve', () => {
  it('warns when every item of a rule has expired', () => {
    const warnings = build([{ id: 'old', kind: 'offer', ...PAST }], [rule('r', ['old'])]);
    expect(warnings).toContain('placements/p.json: $.rules[0]: rule "r" can never serve: every item it serves has expired');
  });

  it('warns when no item is active while the rule is', () => {
    const warnings = build([{ id: 'dec', kind: 'offer', ...DECEMBER }], [rule('jan', ['dec'], JANUARY)]);
    expect(warnings).toContain('placements/p.json: $.rules[0]: rule "jan" can never serve: none of its items is active while the rule is');
  });

  it('does not warn when one item still fits, nor for disabled or already expired rules', () => {
    const items = [
      { id: 'old', kind: 'offer', ...PAST },
      { id: 'dec', kind: 'offer', ...DECEMBER },
    ];
    const warnings = build(items, [rule('ok', ['old', 'dec']), rule('off', ['old'], { enabled: false }), rule('gone', ['dec'], PAST)]);
    expect(warnings.filter((w) => w.includes('can never serve'))).toEqual([]);
    expect(warnings).toContain('placements/p.json: $.rules[2].activeUntil: rule "gone" has expired and never serves');
  });

  it('warns about an empty channels list and a fallback that has expired', () => {
    const warnings = build([{ id: 'nowhere', kind: 'content', channels: [] }, { id: 'old', kind: 'content', ...PAST }], [], ['old']);
    expect(warnings).toContain('catalog.json: $.items[0].channels: is empty, so item "nowhere" is only served to requests that name no channel');
    expect(warnings).toContain('placements/p.json: $.fallback: every fallback item has expired, so the fallback serves nothing');
  });

  it('still builds a snapshot: warnings never block loading', () => {
    const sources: RuleSource[] = [
      { file: 'catalog.json', text: JSON.stringify({ items: [{ id: 'old', kind: 'offer', ...PAST }] }) },
      { file: 'placements/p.json', text: JSON.stringify({ placement: 'p', rules: [rule('r', ['old'])] }) },
    ];
    expect(buildRuleset(sources, { now: NOW }).snapshot).not.toBeNull();
  });
});
