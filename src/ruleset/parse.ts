/**
 * The parse step: rule files to their typed structure (zod), each problem
 * reported with its file and JSON path. Which file is which comes from the
 * layout; what the files refer to is checked next (check.ts).
 */
import * as z from 'zod';
import { isPlainObject } from '../domain/json.js';
import {
  catalogFileSchema,
  catalogItemSchema,
  decisionRuleSchema,
  journeyFileSchema,
  placementFileSchema,
  rootConditionSchema,
  segmentsFileSchema,
  stageRuleSchema,
  type CatalogFile,
  type JourneyFile,
  type PlacementFile,
  type RuleError,
  type SegmentsFile,
} from '../domain/rule-files.js';
import { CATALOG_FILE, classifyRuleFile, RULE_FILES_DESCRIPTION, type RuleSource } from './layout.js';
import { DEFAULT_RULE_LIMITS, RULE_LIMIT_VARIABLES } from './limits.js';
import { parseRuleJson } from './parse-json.js';
import { formatZodIssues } from './zod-issues.js';

export interface Parsed<T> {
  file: string;
  data: T;
}

export interface ParsedRuleFiles {
  journey: Parsed<JourneyFile> | null;
  catalog: Parsed<CatalogFile> | null;
  segments: Parsed<SegmentsFile> | null;
  placements: Parsed<PlacementFile>[];
  /** The rule files the version is computed from: rule tests and ignored files are not among them. */
  ruleFiles: RuleSource[];
  /** Every item id catalog.json names, even on items with other mistakes; null when it could not be read. */
  catalogIds: Set<string> | null;
  /**
   * Every segment segments.json names, including any with mistakes of their
   * own; null when segments.json is there but its names could not be read, so
   * that references to segments are not all reported as unknown.
   */
  segmentNames: Set<string> | null;
  /** journey.json is there but could not be read: its stages are unknown, so stage names are not checked. */
  journeyUnreadable: boolean;
}

export interface ParseOptions {
  /** The most rules a placement (or journey.json) may hold; a file with more is an error and is not parsed further. */
  maxRulesPerPlacement?: number;
}

export function parseRuleFiles(
  sources: readonly RuleSource[],
  errors: RuleError[],
  warnings: RuleError[],
  options: ParseOptions = {},
): ParsedRuleFiles {
  const maxRules = options.maxRulesPerPlacement ?? DEFAULT_RULE_LIMITS.maxRulesPerPlacement;
  const ruleSources = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  let journey: Parsed<JourneyFile> | null = null;
  let catalog: Parsed<CatalogFile> | null = null;
  let segments: Parsed<SegmentsFile> | null = null;
  const placements: Parsed<PlacementFile>[] = [];
  const ruleFiles: RuleSource[] = [];
  let catalogIds: Set<string> | null = null;
  let segmentNames: Set<string> | null = new Set<string>();
  let journeyUnreadable = false;

  for (const source of ruleSources) {
    const kind = classifyRuleFile(source.file);
    if (kind === 'test') continue;
    if (kind === 'other') {
      warnings.push({ file: source.file, path: '$', message: `not a rule file (${RULE_FILES_DESCRIPTION}); ignored` });
      continue;
    }
    ruleFiles.push(source);
    const json = parseRuleJson(source, errors);
    if (json === undefined) {
      // What other files refer to in this one is unknown: checking those references would only add false errors.
      if (kind === 'segments') segmentNames = null;
      if (kind === 'journey') journeyUnreadable = true;
      continue;
    }
    switch (kind) {
      case 'journey':
        journey = parseFile(source.file, json, JOURNEY, errors, maxRules);
        journeyUnreadable = journey === null;
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
        segmentNames = isPlainObject(declared) ? new Set(Object.keys(declared)) : null;
        break;
      }
      case 'placement': {
        const placement = parseFile(source.file, json, PLACEMENT, errors, maxRules);
        if (placement) placements.push(placement);
        break;
      }
    }
  }
  // A catalog that is there but could not be read (too big, a broken link) has its own error already.
  if (!ruleSources.some((s) => s.file === CATALOG_FILE) && !errors.some((e) => e.file === CATALOG_FILE)) {
    errors.push({ file: CATALOG_FILE, path: '$', message: 'is missing: every rules folder needs a catalog of items' });
  }
  return { journey, catalog, segments, placements, ruleFiles, catalogIds, segmentNames, journeyUnreadable };
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

function parseFile<T>(file: string, json: unknown, spec: FileSpec<T>, errors: RuleError[], maxElements = Infinity): Parsed<T> | null {
  const report = (issues: z.core.$ZodIssue[], base: PropertyKey[]): void => {
    for (const e of formatZodIssues(issues, json, base)) errors.push({ file, ...e });
  };
  const { key, schema } = spec.elements;
  const raw = isPlainObject(json) ? json[key] : undefined;
  // Checked first, so that a file far over the limit costs no more than this.
  if (Array.isArray(raw) && raw.length > maxElements) {
    errors.push({
      file,
      path: `$.${key}`,
      message: `has ${raw.length} rules; at most ${maxElements} are allowed in one file (${RULE_LIMIT_VARIABLES.maxRulesPerPlacement})`,
    });
    return null;
  }
  const envelope = spec.envelope.safeParse(json);
  if (!envelope.success) report(envelope.error.issues, []);
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
