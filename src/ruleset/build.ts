/**
 * Rule files in, one immutable snapshot out (or every error found, each with
 * file and JSON path). Pure: the caller reads the files and owns the clock.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { exceedsDepth, findForbiddenKey, isPlainObject, joinPath, type Json } from '../domain/json.js';
import {
  catalogFileSchema,
  catalogItemSchema,
  decisionRuleSchema,
  DEFAULT_STAGES,
  journeyFileSchema,
  placementFileSchema,
  RESERVED_ITEM_FIELDS,
  rootConditionSchema,
  segmentNameSchema,
  segmentsFileSchema,
  stageRuleSchema,
  type BooleanCondition,
  type CatalogFile,
  type JourneyFile,
  type PlacementFile,
  type RuleError,
  type SegmentsFile,
} from '../domain/rule-files.js';
import { checkCondition, type ConditionScope } from './check-conditions.js';
import { createOperatorResolver } from '../conditions/operators.js';
import { FACTS, isFactName } from '../conditions/fact-catalog.js';
import { createCompiledMatcher } from '../conditions/compiled-matcher.js';
import type { MatcherFactory } from '../conditions/matcher.js';
import type { CatalogItem, DecisionRule, Placement, RulesetSnapshot, StageRule } from './snapshot.js';
import { formatZodIssues } from './zod-issues.js';
import { possibleStages } from './stage-index.js';
import { findDuplicateKeys, locateJsonError } from './json-error.js';
import { CATALOG_FILE, classifyRuleFile, JOURNEY_FILE, RULE_FILES_DESCRIPTION, type RuleSource } from './layout.js';

export interface BuildOptions {
  now: number;
  /** How conditions are evaluated: compiled (the default) or json-rules-engine (createJreMatcher). */
  createMatcher?: MatcherFactory;
}

export interface BuildResult {
  snapshot: RulesetSnapshot | null;
  errors: RuleError[];
  warnings: RuleError[];
}

/** Far beyond any sensible nesting of conditions; keeps the recursive checks off the stack limit. */
const MAX_RULE_FILE_DEPTH = 100;

interface Parsed<T> {
  file: string;
  data: T;
}

export function buildRuleset(sources: readonly RuleSource[], options: BuildOptions): BuildResult {
  const errors: RuleError[] = [];
  const warnings: RuleError[] = [];
  const createMatcher = options.createMatcher ?? createCompiledMatcher;
  const ruleSources = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));

  let journey: Parsed<JourneyFile> | null = null;
  let catalog: Parsed<CatalogFile> | null = null;
  let segments: Parsed<SegmentsFile> | null = null;
  const placements: Parsed<PlacementFile>[] = [];
  const versioned: RuleSource[] = [];
  /** Every item id catalog.json names, even on items with other mistakes; null when it could not be read. */
  let catalogIds: Set<string> | null = null;
  /** Every segment segments.json names, including any with mistakes of their own. */
  let segmentNames = new Set<string>();

  for (const source of ruleSources) {
    const kind = classifyRuleFile(source.file);
    if (kind === 'test') continue;
    if (kind === 'other') {
      warnings.push({ file: source.file, path: '$', message: `not a rule file (${RULE_FILES_DESCRIPTION}); ignored` });
      continue;
    }
    versioned.push(source);
    const json = parseJson(source, errors);
    if (json === undefined) continue;
    switch (kind) {
      case 'journey':
        journey = parseFile(source.file, json, JOURNEY, errors);
        break;
      case 'catalog':
        catalog = parseFile(source.file, json, CATALOG, errors);
        // Without a readable list of items there is nothing to check item ids against.
        catalogIds =
          isPlainObject(json) && Array.isArray(json.items)
            ? new Set(json.items.flatMap((item: unknown) => (isPlainObject(item) && typeof item.id === 'string' ? [item.id] : [])))
            : null;
        break;
      case 'segments': {
        segments = parseFile(source.file, json, SEGMENTS, errors);
        const declared = isPlainObject(json) ? json.segments : undefined;
        segmentNames = new Set(isPlainObject(declared) ? Object.keys(declared) : []);
        break;
      }
      case 'placement': {
        const placement = parseFile(source.file, json, PLACEMENT, errors);
        if (placement) placements.push(placement);
        break;
      }
    }
  }
  if (!ruleSources.some((s) => s.file === CATALOG_FILE)) {
    errors.push({ file: CATALOG_FILE, path: '$', message: 'is missing: every rules folder needs a catalog of items' });
  }

  const stages: string[] = journey ? journey.data.stages : [...DEFAULT_STAGES];
  const stageIndex = new Map<string, number>();
  stages.forEach((stage, i) => {
    if (stageIndex.has(stage)) errors.push({ file: JOURNEY_FILE, path: `$.stages[${i}]`, message: `duplicate stage "${stage}"` });
    else stageIndex.set(stage, i);
  });

  const catalogItems = checkCatalog(catalog, options.now, errors, warnings);
  const segmentConditions = checkSegments(segments, segmentNames, stageIndex, errors);
  const stageRules = journey ? checkStageRules(journey, stageIndex, segmentConditions, errors) : [];
  const compiledPlacements = checkPlacements(placements, stageIndex, segmentConditions, catalogIds, options.now, errors, warnings);

  if (errors.length > 0) return { snapshot: null, errors, warnings };
  warnUnservable(compiledPlacements, catalogItems, options.now, warnings);

  const env = { segments: segmentConditions.conditions, stageIndex };
  const placementMap = new Map<string, Placement>();
  for (const p of compiledPlacements) {
    const enabled = p.rules.filter((r) => r.enabled);
    const rulesByStage = new Map(stages.map((stage) => [stage, [] as DecisionRule[]]));
    for (const rule of enabled) {
      const allowed = possibleStages(rule.conditions, segmentConditions.conditions, stages);
      for (const [stage, list] of rulesByStage) if (!allowed || allowed.has(stage)) list.push(rule);
    }
    placementMap.set(p.name, { ...p, rulesByStage, matcher: createMatcher(enabled, env) });
  }
  const snapshot: RulesetSnapshot = {
    version: rulesVersion(versioned),
    loadedAt: new Date(options.now).toISOString(),
    stages,
    stageIndex,
    stageRules,
    stageMatcher: createMatcher(stageRules, env),
    catalog: catalogItems,
    segments: segmentConditions.conditions,
    placements: placementMap,
    warnings,
    evaluation: { ...env, operator: createOperatorResolver(stageIndex) },
  };
  return { snapshot, errors, warnings };
}

/** A content hash of the rule files, so equal rules give an equal version on every replica. */
export function rulesVersion(sources: readonly RuleSource[]): string {
  const hash = createHash('sha256');
  for (const source of [...sources].sort((a, b) => (a.file < b.file ? -1 : 1))) {
    hash.update(source.file).update('\0').update(source.text).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function parseJson(source: RuleSource, errors: RuleError[]): unknown {
  let value: unknown;
  try {
    // A byte-order mark is legal in a file but not to JSON.parse.
    value = JSON.parse(source.text.charCodeAt(0) === 0xfeff ? source.text.slice(1) : source.text);
  } catch (err) {
    const located = locateJsonError(source.text);
    const message = located
      ? `${located.message} (line ${located.line}, column ${located.column})`
      : (err as Error).message;
    errors.push({ file: source.file, path: '$', message: `malformed JSON: ${message}` });
    return undefined;
  }
  if (exceedsDepth(value, MAX_RULE_FILE_DEPTH)) {
    errors.push({ file: source.file, path: '$', message: `nests deeper than ${MAX_RULE_FILE_DEPTH} levels` });
    return undefined;
  }
  const duplicates = findDuplicateKeys(source.text);
  for (const duplicate of duplicates) {
    errors.push({ file: source.file, path: duplicate.path, message: `"${duplicate.key}" appears twice in the same object; only the last one would count` });
  }
  if (duplicates.length > 0) return undefined;
  const forbidden = findForbiddenKey(value);
  if (forbidden) {
    errors.push({ file: source.file, path: forbidden, message: 'this key is not allowed (it could reach object prototypes)' });
    return undefined;
  }
  return value;
}

/**
 * How a kind of file is parsed: its envelope, and its list (or map) of
 * elements, each checked on its own so that one bad rule or item does not
 * hide the mistakes in the others.
 */
interface FileSpec<T> {
  envelope: z.ZodType;
  elements: { key: string; schema: z.ZodType; map?: boolean };
  /** Phantom: the type of the whole file once put back together. */
  readonly _type?: T;
}

const JOURNEY: FileSpec<JourneyFile> = {
  envelope: journeyFileSchema.extend({ rules: z.array(z.unknown()).default([]) }),
  elements: { key: 'rules', schema: stageRuleSchema },
};
const CATALOG: FileSpec<CatalogFile> = {
  envelope: catalogFileSchema.extend({ items: z.array(z.unknown()) }),
  elements: { key: 'items', schema: catalogItemSchema },
};
const SEGMENTS: FileSpec<SegmentsFile> = {
  envelope: segmentsFileSchema.extend({ segments: z.record(z.string(), z.unknown()) }),
  elements: { key: 'segments', schema: rootConditionSchema, map: true },
};
const PLACEMENT: FileSpec<PlacementFile> = {
  envelope: placementFileSchema.extend({ rules: z.array(z.unknown()) }),
  elements: { key: 'rules', schema: decisionRuleSchema },
};

function parseFile<T>(file: string, json: unknown, spec: FileSpec<T>, errors: RuleError[]): Parsed<T> | null {
  const report = (issues: z.core.$ZodIssue[], base: PropertyKey[]): void => {
    for (const e of formatZodIssues(issues, json, base)) errors.push({ file, ...e });
  };
  const envelope = spec.envelope.safeParse(json);
  if (!envelope.success) report(envelope.error.issues, []);
  const { key, schema } = spec.elements;
  const raw = isPlainObject(json) ? json[key] : undefined;
  let elements: unknown;
  if (spec.elements.map) {
    const parsed: Record<string, unknown> = {};
    for (const [name, value] of isPlainObject(raw) ? Object.entries(raw) : []) {
      const result = schema.safeParse(value);
      if (result.success) parsed[name] = result.data;
      else report(result.error.issues, [key, name]);
    }
    elements = parsed;
  } else {
    // A sparse array: elements that failed leave a hole, so the others keep their index (and JSON path).
    const list = Array.isArray(raw) ? raw : [];
    const parsed: unknown[] = new Array(list.length);
    list.forEach((value, i) => {
      const result = schema.safeParse(value);
      if (result.success) parsed[i] = result.data;
      else report(result.error.issues, [key, i]);
    });
    elements = parsed;
  }
  if (!envelope.success) return null;
  return { file, data: { ...(envelope.data as object), [key]: elements } as T };
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
      fields: Object.freeze({ ...(item as Record<string, Json>) }),
    });
  });
  return items;
}

interface SegmentCheck {
  conditions: Map<string, BooleanCondition>;
  /** Every name segments.json declares, for reference checks. */
  names: ReadonlySet<string>;
  /** The facts each segment uses, through the segments it references too. */
  factsUsed: Map<string, Set<string>>;
}

function checkSegments(
  segments: Parsed<SegmentsFile> | null,
  allNames: ReadonlySet<string>,
  stageIndex: ReadonlyMap<string, number>,
  errors: RuleError[],
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
    const scope: ConditionScope = { file, inStageRule: true, stageIndex, segmentNames: segments.names, errors, references: new Set() };
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

type PlacementDraft = Omit<Placement, 'matcher' | 'rulesByStage'>;

function checkPlacements(
  placements: readonly Parsed<PlacementFile>[],
  stageIndex: ReadonlyMap<string, number>,
  segments: SegmentCheck,
  catalogIds: ReadonlySet<string> | null,
  now: number,
  errors: RuleError[],
  warnings: RuleError[],
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
    drafts.push({ name: data.placement, file, maxItems: data.maxItems, fallback: data.fallback, rules: sortRules(rules) });
  }
  return drafts;
}

/**
 * Warnings, not errors, for rules that can never serve anything from now on:
 * every item expired, or no item active at any time the rule is. They load,
 * but a marketer almost certainly meant something else.
 */
function warnUnservable(
  placements: readonly PlacementDraft[],
  catalog: ReadonlyMap<string, CatalogItem>,
  now: number,
  warnings: RuleError[],
): void {
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
