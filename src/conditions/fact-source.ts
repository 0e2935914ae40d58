/**
 * Where a condition's facts come from. A FactSource computes the values of one
 * decision (decision-facts.ts builds it from the profile and request); the
 * fact catalog (fact-catalog.ts) says which facts exist and what params they
 * take; factReader is the one place a fact's name meets the FactSource member
 * that computes it, for the compiled and the tracing evaluator alike.
 */
import {
  isFactName,
  type BucketParams,
  type FactName,
  type OutcomeCountParams,
  type TouchpointCountParams,
  type TouchpointFilterParams,
} from './fact-catalog.js';
import type { OutcomeKind } from '../domain/outcome.js';

/** The fact values of one decision. */
export interface FactSource {
  readonly customerId: string;
  readonly attributes: unknown;
  readonly context: unknown;
  readonly touchpointTypes: readonly string[];
  readonly channels: readonly string[];
  /** Unset while the stage itself is being inferred. */
  readonly stage: string | undefined;
  readonly stageIndex: number | undefined;
  touchpointCount(params: TouchpointCountParams): number;
  daysSinceLastTouchpoint(params: TouchpointFilterParams): number | null;
  outcomeCount(params: OutcomeCountParams): number;
  /**
   * This customer's outcomes of `kind` for `item`, in any placement, within
   * the last `withinDays` days (every one when null): what a cap with scope
   * "customer" counts. Not memoised; one lookup and a scan of the item's outcomes.
   */
  itemOutcomeCount(item: string, kind: OutcomeKind, withinDays: number | null): number;
  bucket(params: BucketParams): number;
}

/** One fact, with its params bound, read from a decision's facts. */
export type FactReader = (facts: FactSource) => unknown;

/** Typed by the catalog's names, so a fact added there without a reader here does not compile. */
const READERS: { readonly [F in FactName]: (params: Record<string, unknown>) => FactReader } = {
  customerId: () => (facts) => facts.customerId,
  stage: () => (facts) => facts.stage,
  stageIndex: () => (facts) => facts.stageIndex,
  attributes: () => (facts) => facts.attributes,
  context: () => (facts) => facts.context,
  touchpointTypes: () => (facts) => facts.touchpointTypes,
  channels: () => (facts) => facts.channels,
  // The params object is the same on every call, so the facts can memoise by its identity.
  touchpointCount: (params) => (facts) => facts.touchpointCount(params),
  daysSinceLastTouchpoint: (params) => (facts) => facts.daysSinceLastTouchpoint(params),
  outcomeCount: (params) => (facts) => facts.outcomeCount(params),
  bucket: (params) => {
    const bucketParams = params as BucketParams;
    return (facts) => facts.bucket(bucketParams);
  },
};

const unknownFact: FactReader = () => undefined;

/** Reads a fact by name with these params, before any `path`; an unknown fact (validation rejects those) reads as undefined. */
export function factReader(fact: string, params: Record<string, unknown>): FactReader {
  return isFactName(fact) ? READERS[fact](params) : unknownFact;
}
