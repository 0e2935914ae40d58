import { FORBIDDEN_KEYS, isPlainObject, type Json, type JsonObject } from './json.js';

/**
 * RFC 7386 JSON merge patch of an object: `null` deletes a key, objects merge
 * recursively, anything else replaces. Returns a new object; the target is not
 * changed. Forbidden keys are skipped so a patch can never reach a prototype.
 */
export function applyMergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const result: JsonObject = { ...target };
  for (const key of Object.keys(patch)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const value = patch[key] as Json;
    if (value === null) {
      delete result[key];
    } else if (isPlainObject(value)) {
      const current = result[key];
      result[key] = applyMergePatch(isPlainObject(current) ? (current as JsonObject) : {}, value as JsonObject);
    } else {
      result[key] = value;
    }
  }
  return result;
}
