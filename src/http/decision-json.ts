/**
 * A decision as JSON text: exactly what `JSON.stringify(decision)` gives, in
 * less time. Catalog fields are most of a decision's bytes (a 1.7 KiB answer of
 * four items spends nine tenths of its length on them), and the items decide()
 * serves are shared, frozen objects (src/decide/arbitrate.ts), so each one's
 * JSON is made once and kept beside it. For the benchmark's two-placement
 * decision, JSON.stringify took about 8 µs and this takes under 3.
 */
import type { Decision, PlacementDecision, ServedItem } from '../domain/decision.js';

/** The JSON of served items, kept as long as the item lives (its rules snapshot's). */
const itemJson = new WeakMap<ServedItem, string>();

export function decisionJson(decision: Decision): string {
  // Key by key, in the decision's own order, so the text matches JSON.stringify whatever fields a decision has.
  let out = '{';
  for (const key in decision) {
    const value = (decision as unknown as Record<string, unknown>)[key];
    const text = key === 'placements' ? placementsJson(value as Decision['placements']) : valueJson(value);
    // JSON.stringify leaves out what has no JSON (undefined).
    if (text === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${stringJson(key)}:${text}`;
  }
  return `${out}}`;
}

function placementsJson(placements: Decision['placements']): string {
  let out = '{';
  for (const name in placements) {
    if (out.length > 1) out += ',';
    out += `${stringJson(name)}:${placementJson(placements[name] as PlacementDecision)}`;
  }
  return `${out}}`;
}

function placementJson(placement: PlacementDecision): string {
  let out = '{';
  for (const key in placement) {
    const value = (placement as unknown as Record<string, unknown>)[key];
    const text = key === 'items' ? itemsJson(value as ServedItem[]) : valueJson(value);
    if (text === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${stringJson(key)}:${text}`;
  }
  return `${out}}`;
}

function itemsJson(items: readonly ServedItem[]): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    out += servedItemJson(items[i] as ServedItem);
  }
  return `${out}]`;
}

function servedItemJson(item: ServedItem): string {
  let json = itemJson.get(item);
  if (json === undefined) {
    json = JSON.stringify(item);
    // Only a frozen item can be trusted to stay what its JSON says.
    if (Object.isFrozen(item)) itemJson.set(item, json);
  }
  return json;
}

/** Characters JSON.stringify would escape in a string. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A string's JSON: quoted as it is when nothing in it needs escaping (ids, slugs and names: nearly always), which is about twice as fast. */
function stringJson(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

function valueJson(value: unknown): string | undefined {
  if (typeof value === 'string') return stringJson(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}
