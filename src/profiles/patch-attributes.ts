import { InvalidInputError } from '../domain/errors.js';
import { jsonByteLength, type JsonObject } from '../domain/json.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { MAX_ATTRIBUTES_BYTES } from '../domain/profile.js';

/**
 * The attributes after a merge patch. Throws InvalidInputError naming
 * `$.attributes` when the result would outgrow MAX_ATTRIBUTES_BYTES, so every
 * store rejects the same patches before it changes anything.
 */
export function patchAttributes(current: JsonObject, patch: JsonObject): JsonObject {
  const merged = applyMergePatch(current, patch);
  const bytes = jsonByteLength(merged);
  if (bytes > MAX_ATTRIBUTES_BYTES) {
    const message = `attributes would take ${bytes} bytes as JSON; at most ${MAX_ATTRIBUTES_BYTES} are allowed`;
    throw new InvalidInputError(message, [{ path: '$.attributes', message }]);
  }
  return merged;
}
