/**
 * The check step: what parsed rule files refer to must exist and make sense
 * together: stages, facts and operators (check-conditions.ts), items,
 * segments (and their cycles), duplicate names, activity windows. Errors and
 * warnings carry their file and JSON path; every file is checked, so one
 * mistake does not hide the others.
 */
import { joinPath, type Json } from '../domain/json.js';
import {
  DEFAULT_EXPLORE,
  DEFAULT_STAGES,
  RESERVED_ITEM_FIELDS,
  segmentNameSchema,
  type BooleanCondition,
  type CatalogFile,
  type ItemCapSpec,
  type JourneyFile,
  type PlacementFile,
  type RuleError,
  type SegmentsFile,
} from '../domain/rule-files.js';
import { FACTS, isFactName } from '../conditions/fact-catalog.js';
import { checkCondition, type ConditionScope } from './check-conditions.js';
import { CATALOG_FILE, classifyRuleFile, JOURNEY_FILE } from './layout.js';
import type { Parsed, ParsedRuleFiles } from './parse.js';
import type { CatalogItem, DecisionRule, ItemCap, Placement, StageRule } from './snapshot.js';

/** Rules whose references all hold, ready to compile (when no error was found). */
export interface CheckedRuleset {
  stages: string[];
  stageIndex: Map<string, number>;
  catalog: Map<string, CatalogItem>;
  segments: Map<string, BooleanCondition>;
  /** Highest priority first, ties in file order. */
  stageRules: StageRule[];
  placements: PlacementDraft[];
}

/** Everything checked but the placements. */
export type CheckedBase = Omit<CheckedRuleset, 'placements'>;

export function checkRuleFiles(parsed: ParsedRuleFiles, now: number, errors: RuleError[], warnings: RuleError[]): CheckedRuleset {
  const { journey } = parsed;
  const stages: string[] = journey ? journey.data.stages : [...DEFAULT_STAGES];
  const stageIndex = new Map<string, number>();
  stages.forEach((stage, i) => {
    if (stageIndex.has(stage)) errors.push({ file: JOURNEY_FILE, path: `$.stages[${i}]`, message: `duplicate stage "${stage}"` });
    else stageIndex.set(stage, i);
  });

  // Without the stages of a journey.json that could not be read, stage names in conditions cannot be checked.
  const knownStages = parsed.journeyUnreadable ? null : stageIndex;
  const catalog = checkCatalog(parsed.catalog, now, errors, warnings);
  const named = namedElsewhere(parsed);
  const segments = checkSegments(parsed.segments, parsed.segmentNames, knownStages, errors, named);
  const stageRules = journey ? checkStageRules(journey, stageIndex, segments, errors, named) : [];
  const placements = checkPlacements(parsed.placements, knownStages, segments, parsed.catalogIds, now, errors, warnings, named);
  return { stages, stageIndex, catalog, segments: segments.conditions, stageRules, placements };
}

/** Item ids and placement names conditions may refer to (outcomeCount's params); null where unknown. */
interface NamedElsewhere {
  catalogIds: ReadonlySet<string> | null;
  placementNames: ReadonlySet<string> | null;
}

function namedElsewhere(parsed: ParsedRuleFiles): NamedElsewhere {
  // A placement file that could not be read names a placement nobody knows; then none is reported unknown.
  const placementFiles = parsed.ruleFiles.filter((source) => classifyRuleFile(source.file) === 'placement').length;
  const placementNames = placementFiles === parsed.placements.length ? new Set(parsed.placements.map((p) => p.data.placement)) : null;
  return { catalogIds: parsed.catalogIds, placementNames };
}

function parseDate(value: string | undefined): number | null {
  return value === undefined ? null : Date.parse(value);
}

function checkWindow(
  file: string,
  path: string,
  window: { activeFrom?: string; activeUntil?: string },
  errors: RuleError[],
): { activeFrom: number | null; activeUntil: number | null } {
  const activeFrom = parseDate(window.activeFrom);
  const activeUntil = parseDate(window.activeUntil);
  if (activeFrom !== null && activeUntil !== null && activeFrom >= activeUntil) {
    errors.push({ file, path: joinPath(path, 'activeUntil'), message: 'must be later than activeFrom' });
  }
  return { activeFrom, activeUntil };
}

function checkCatalog(
  catalog: Parsed<CatalogFile> | null,
  now: number,
  errors: RuleError[],
  warnings: RuleError[],
): Map<string, CatalogItem> {
  const items = new Map<string, CatalogItem>();
  if (!catalog) return items;
  const { file } = catalog;
  catalog.data.items.forEach((item, i) => {
    const path = `$.items[${i}]`;
    if (items.has(item.id)) {
      errors.push({ file, path: joinPath(path, 'id'), message: `duplicate item id "${item.id}"` });
      return;
    }
    for (const reserved of RESERVED_ITEM_FIELDS) {
      if (Object.prototype.hasOwnProperty.call(item, reserved)) {
        errors.push({ file, path: joinPath(path, reserved), message: `"${reserved}" is added to served items by the service; rename this field` });
      }
    }
    const window = checkWindow(file, path, item, errors);
    if (window.activeUntil !== null && window.activeUntil <= now) {
      warnings.push({ file, path: joinPath(path, 'activeUntil'), message: `item "${item.id}" has expired and is never served` });
    }
    if (item.channels?.length === 0) {
      warnings.push({ file, path: joinPath(path, 'channels'), message: `is empty, so item "${item.id}" is only served to requests that name no channel` });
    }
    items.set(item.id, {
      id: item.id,
      kind: item.kind,
      channels: item.channels ? new Set(item.channels) : null,
      ...window,
      caps: compileCaps(item.id, item.caps),
      // What a served item shows: every field of the entry but its caps, which are the service's policy, not content.
      // Frozen when compiled: these rules may yet be copied to another thread, which would drop the freeze.
      fields: servedFields(item as Record<string, Json>),
    });
  });
  return items;
}

function servedFields(entry: Record<string, Json>): Record<string, Json> {
  const fields = { ...entry };
  delete fields.caps;
  return fields;
}

function compileCaps(id: string, caps: readonly ItemCapSpec[] | undefined): ItemCap[] | null {
  if (!caps || caps.length === 0) return null;
  return caps.map((cap) => {
    const withinDays = cap.withinDays ?? null;
    return {
      kind: cap.kind,
      max: cap.max,
      withinDays,
      scope: cap.scope ?? 'customer',
    };
  });
}

interface SegmentCheck {
  conditions: Map<string, BooleanCondition>;
  /** Every name segments.json declares, for reference checks; null when they could not be read. */
  names: ReadonlySet<string> | null;
  /** The facts each segment uses, through the segments it references too. */
  factsUsed: Map<string, Set<string>>;
}

function checkSegments(
  segments: Parsed<SegmentsFile> | null,
  allNames: ReadonlySet<string> | null,
  stageIndex: ReadonlyMap<string, number> | null,
  errors: RuleError[],
  named: NamedElsewhere,
): SegmentCheck {
  const conditions = new Map<string, BooleanCondition>();
  const factsUsed = new Map<string, Set<string>>();
  if (!segments) return { conditions, factsUsed, names: allNames };
  const { file } = segments;
  const names = Object.keys(segments.data.segments);
  const references = new Map<string, Set<string>>();
  for (const name of names) {
    const path = joinPath('$.segments', name);
    const nameCheck = segmentNameSchema.safeParse(name);
    if (!nameCheck.success) errors.push({ file, path, message: `segment name ${nameCheck.error.issues[0]?.message ?? 'is invalid'}` });
    const condition = segments.data.segments[name] as BooleanCondition;
    const scope: ConditionScope = {
      file,
      inStageRule: false,
      stageIndex,
      segmentNames: allNames,
      errors,
      references: new Set(),
      factsUsed: new Set(),
      ...named,
    };
    checkCondition(condition, path, scope);
    references.set(name, scope.references as Set<string>);
    factsUsed.set(name, scope.factsUsed as Set<string>);
    conditions.set(name, condition);
  }
  // A segment that references itself, directly or not, would never finish evaluating.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      errors.push({ file, path: joinPath('$.segments', name), message: `segments reference each other in a cycle: ${cycle.join(' -> ')}` });
      return;
    }
    state.set(name, 'visiting');
    for (const ref of references.get(name) ?? []) {
      if (conditions.has(ref)) {
        visit(ref, [...trail, name]);
        for (const fact of factsUsed.get(ref) ?? []) factsUsed.get(name)?.add(fact);
      }
    }
    state.set(name, 'done');
  };
  for (const name of names) visit(name, []);
  return { conditions, factsUsed, names: allNames };
}

function sortRules<T extends { priority: number; order: number }>(rules: T[]): T[] {
  return rules.sort((a, b) => b.priority - a.priority || a.order - b.order);
}

function checkStageRules(
  journey: Parsed<JourneyFile>,
  stageIndex: ReadonlyMap<string, number>,
  segments: SegmentCheck,
  errors: RuleError[],
  named: NamedElsewhere,
): StageRule[] {
  const { file } = journey;
  const names = new Set<string>();
  const rules: StageRule[] = [];
  journey.data.rules.forEach((rule, i) => {
    const path = `$.rules[${i}]`;
    if (names.has(rule.name)) errors.push({ file, path: joinPath(path, 'name'), message: `duplicate rule name "${rule.name}"` });
    names.add(rule.name);
    const stage = rule.event.params.stage;
    if (!stageIndex.has(stage)) {
      errors.push({ file, path: `${path}.event.params.stage`, message: `unknown stage "${stage}"; stages are ${[...stageIndex.keys()].join(', ')}` });
    }
    const scope: ConditionScope = { file, inStageRule: true, stageIndex, segmentNames: segments.names, errors, references: new Set(), ...named };
    checkCondition(rule.conditions, joinPath(path, 'conditions'), scope);
    for (const ref of scope.references ?? []) {
      const stageFacts = [...(segments.factsUsed.get(ref) ?? [])].filter((f) => isFactName(f) && !FACTS[f].usableInStageRules);
      if (stageFacts.length > 0) {
        errors.push({ file, path: joinPath(path, 'conditions'), message: `segment "${ref}" uses the ${stageFacts.map((f) => `"${f}"`).join(', ')} fact, which stage rules cannot use` });
      }
    }
    rules.push({ name: rule.name, priority: rule.priority, order: i, stage, conditions: rule.conditions });
  });
  return sortRules(rules);
}

/** A placement as checked, before compile adds its matcher and its rules by stage. */
export type PlacementDraft = Omit<Placement, 'matcher' | 'rulesByStage' | 'capped'>;

function checkPlacements(
  placements: readonly Parsed<PlacementFile>[],
  stageIndex: ReadonlyMap<string, number> | null,
  segments: SegmentCheck,
  catalogIds: ReadonlySet<string> | null,
  now: number,
  errors: RuleError[],
  warnings: RuleError[],
  named: NamedElsewhere,
): PlacementDraft[] {
  const seen = new Map<string, string>();
  const drafts: PlacementDraft[] = [];
  const checkItem = (file: string, path: string, id: string): void => {
    if (catalogIds && !catalogIds.has(id)) errors.push({ file, path, message: `unknown item "${id}"; it is not in ${CATALOG_FILE}` });
  };
  for (const { file, data } of placements) {
    const earlier = seen.get(data.placement);
    if (earlier !== undefined) {
      errors.push({ file, path: '$.placement', message: `duplicate placement "${data.placement}"; ${earlier} defines it too` });
    }
    seen.set(data.placement, file);
    data.fallback.forEach((id, i) => checkItem(file, `$.fallback[${i}]`, id));
    const names = new Set<string>();
    const rules: DecisionRule[] = [];
    data.rules.forEach((rule, i) => {
      const path = `$.rules[${i}]`;
      if (names.has(rule.name)) errors.push({ file, path: joinPath(path, 'name'), message: `duplicate rule name "${rule.name}"` });
      names.add(rule.name);
      rule.event.params.items.forEach((id, j) => checkItem(file, `${path}.event.params.items[${j}]`, id));
      const window = checkWindow(file, path, rule, errors);
      if (window.activeUntil !== null && window.activeUntil <= now) {
        warnings.push({ file, path: joinPath(path, 'activeUntil'), message: `rule "${rule.name}" has expired and never serves` });
      }
      checkCondition(rule.conditions, joinPath(path, 'conditions'), {
        file,
        inStageRule: false,
        stageIndex,
        segmentNames: segments.names,
        errors,
        ...named,
      });
      rules.push({
        name: rule.name,
        priority: rule.priority,
        order: i,
        enabled: rule.enabled,
        ...window,
        items: rule.event.params.items,
        conditions: rule.conditions,
      });
    });
    if (data.rules.length === 0 && data.fallback.length === 0) {
      warnings.push({ file, path: '$', message: `placement "${data.placement}" has no rules and no fallback, so it always answers with no items` });
    }
    const optimize = data.optimize ? { goal: data.optimize.goal, explore: data.optimize.explore ?? DEFAULT_EXPLORE } : null;
    drafts.push({ name: data.placement, file, maxItems: data.maxItems, fallback: data.fallback, rules: sortRules(rules), optimize });
  }
  return drafts;
}

/**
 * Warnings, not errors, for rules that can never serve anything from now on:
 * every item expired, or no item active at any time the rule is. They load,
 * but a marketer almost certainly meant something else.
 */
export function warnUnservable(checked: CheckedRuleset, now: number, warnings: RuleError[]): void {
  const { placements, catalog } = checked;
  const overlaps = (a: Window, b: Window): boolean =>
    (a.activeUntil === null || b.activeFrom === null || b.activeFrom < a.activeUntil) &&
    (b.activeUntil === null || a.activeFrom === null || a.activeFrom < b.activeUntil);
  const future: Window = { activeFrom: now, activeUntil: null };
  for (const placement of placements) {
    for (const rule of placement.rules) {
      if (!rule.enabled || !overlaps(rule, future)) continue;
      const items = rule.items.map((id) => catalog.get(id)).filter((item): item is CatalogItem => item !== undefined);
      if (items.length === 0 || items.some((item) => overlaps(item, future) && overlaps(item, rule))) continue;
      const reason = items.every((item) => !overlaps(item, future))
        ? 'every item it serves has expired'
        : 'none of its items is active while the rule is';
      warnings.push({ file: placement.file, path: `$.rules[${rule.order}]`, message: `rule "${rule.name}" can never serve: ${reason}` });
    }
    const fallback = placement.fallback.map((id) => catalog.get(id)).filter((item): item is CatalogItem => item !== undefined);
    if (fallback.length > 0 && !fallback.some((item) => overlaps(item, future))) {
      warnings.push({ file: placement.file, path: '$.fallback', message: 'every fallback item has expired, so the fallback serves nothing' });
    }
  }
}

interface Window {
  activeFrom: number | null;
  activeUntil: number | null;
}
