/**
 * API keys and scopes (contract section 7). A request proves who it is with
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`; each route needs the
 * one scope its entry of the route table names, and `admin` holds them all.
 * No key or an unknown key answers 401, a known key without the scope 403.
 * With no keys configured nothing is checked.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiKey, Scope } from '../config.js';
import { PROBLEM_TYPES, problemResponse } from './problem.js';

export const AUTH_CHALLENGE = 'Bearer realm="nextbest"';

/** A route that needs a scope, as the route table declares it. */
export interface ScopedRoute {
  method: string;
  /** A Hono pattern, as the route is mounted. */
  path: string;
  scope: Scope;
}

export interface ApiKeyAuth {
  /**
   * Runs before every route: a request needs a valid key unless its path is
   * open, including paths no route serves. Without a key an unknown path
   * answers 401, not 404, so a caller without a key cannot map which routes
   * exist; with a valid key it reaches the usual 404.
   */
  authenticate: MiddlewareHandler;
  /** The scope check mounted in front of one route's handler: 403 unless the key holds the scope, or `admin`. */
  requireScope(route: ScopedRoute): MiddlewareHandler;
}

/**
 * Authentication and per-route scopes for these keys; null when `keys` is null
 * or undefined: the API is open. Which paths are open is the route table's
 * to say (`isOpenPath`).
 */
export function apiKeyAuth(keys: readonly ApiKey[] | null | undefined, isOpenPath: (path: string) => boolean): ApiKeyAuth | null {
  if (!keys) return null;
  const identify = keyMatcher(keys);
  // The scopes of the key the request came with, from authentication to the route's scope check.
  const callers = new WeakMap<Context, ReadonlySet<Scope>>();

  return {
    authenticate: async (c, next) => {
      if (isOpenPath(c.req.path)) return next();
      const presented = presentedKey(c);
      if (presented === null) {
        return unauthorized(c, 'this request needs an API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"');
      }
      const scopes = identify(presented);
      if (!scopes) return unauthorized(c, 'the API key is not valid');
      callers.set(c, scopes);
      return next();
    },
    requireScope: (route) => requireScope(route, (c) => callers.get(c)),
  };
}

function requireScope(route: ScopedRoute, scopesOf: (c: Context) => ReadonlySet<Scope> | undefined): MiddlewareHandler {
  return async (c, next) => {
    const scopes = scopesOf(c);
    if (scopes && (scopes.has(route.scope) || scopes.has('admin'))) return next();
    // Name the scope, never the key: the answer may be logged or shown to a user.
    const needed = route.scope === 'admin' ? 'the "admin" scope' : `the "${route.scope}" scope (or "admin")`;
    return problemResponse(c, {
      type: PROBLEM_TYPES.forbidden,
      title: 'Forbidden',
      status: 403,
      detail: `${route.method} ${route.path} needs ${needed}, which this API key does not have`,
      scope: route.scope,
    });
  };
}

function unauthorized(c: Context, detail: string): Response {
  return problemResponse(c, { type: PROBLEM_TYPES.unauthorized, title: 'Unauthorized', status: 401, detail }, { 'WWW-Authenticate': AUTH_CHALLENGE });
}

/**
 * The key a request presents, or null when it presents none. A Bearer
 * `Authorization` header wins over `X-API-Key`; the scheme is case-insensitive
 * (RFC 9110 section 11.1). Another scheme, e.g. Basic from a proxy in front,
 * is not ours and is ignored. An empty key counts as none.
 */
export function presentedKey(c: Context): string | null {
  const authorization = c.req.header('Authorization');
  const bearer = authorization === undefined ? undefined : /^bearer(?:[ \t]+(.*))?$/i.exec(authorization.trim());
  if (bearer) return nonEmpty(bearer[1]);
  return nonEmpty(c.req.header('X-API-Key'));
}

function nonEmpty(value: string | undefined): string | null {
  const trimmed = value?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}

/**
 * Finds the scopes of a presented key in time that does not depend on how much
 * of it matches a configured key.
 *
 * Both sides are hashed with SHA-256 first, so `timingSafeEqual` always compares
 * 32 bytes and neither a key's length nor a shared prefix shows in the timing.
 * Every configured key is compared, with no early exit, so the time does not
 * tell which key matched, or after how many. We chose this over a Map from
 * digest to scopes (also sound: a lookup could only leak the stored digest,
 * which does not yield the key) because it needs no argument about how the
 * engine hashes and compares strings, and a deployment has a handful of keys.
 */
export function keyMatcher(keys: readonly ApiKey[]): (presented: string) => ReadonlySet<Scope> | null {
  const known = keys.map((k) => ({ digest: sha256(k.key), scopes: k.scopes }));
  return (presented) => {
    const digest = sha256(presented);
    let found: ReadonlySet<Scope> | null = null;
    for (const k of known) {
      if (timingSafeEqual(digest, k.digest)) found = k.scopes;
    }
    return found;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
