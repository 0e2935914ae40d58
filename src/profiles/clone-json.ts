import type { Json, JsonObject } from '../domain/json.js';

/**
 * A deep copy of a JSON value. Several times faster than structuredClone for
 * the many small objects of a profile (touchpoint properties), which matters
 * for the memory store's getMany of a thousand profiles.
 */
export function cloneJson<T extends Json>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  return cloneObject(value as JsonObject) as T;
}

function cloneObject(source: JsonObject): JsonObject {
  const copy: JsonObject = {};
  for (const key of Object.keys(source)) {
    const value = cloneJson(source[key] as Json);
    // Assigning "__proto__" would replace the copy's prototype instead of copying the key.
    if (key === '__proto__') Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    else copy[key] = value;
  }
  return copy;
}
