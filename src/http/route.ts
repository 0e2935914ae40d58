/**
 * One HTTP route, declared once: its method and path, who may call it, what it
 * reads and answers, and its handler. The table of them (routes.ts) is read by
 * createApp, which mounts each route with its scope check and, only where a
 * body is read, the body limit; by auth, for the paths that stay open; and by
 * the OpenAPI document, written from the same entries. A route cannot be served
 * without a scope, or documented differently from how it is served.
 *
 * Declaring costs nothing per request: the table is read once, when the app is
 * made, and a route gets no middleware it did not have before.
 */
import type { Handler } from 'hono';
import type * as z from 'zod';
import type { Scope } from '../config.js';
import type { AppDeps, ResolvedDeps } from './deps.js';

export type RouteMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Who may call a route: a key with this API_KEYS scope (`admin` holds them all), or anyone (`open`). */
export type RouteScope = Scope | 'open';

export interface RouteDef {
  method: RouteMethod;
  /** A Hono pattern, as the route is mounted: `/v1/customers/:id`. */
  path: string;
  scope: RouteScope;
  /**
   * Open routes only: every path below this one answers without a key too, so
   * a page's missing asset is a plain 404 rather than a 401.
   */
  openBelow?: boolean;
  /** Mounted only when this holds for the app's options; documented always. */
  mountIf?: (options: AppDeps) => boolean;
  /** The JSON body the handler reads. Only routes with one get the body limit: on the Node adapter touching the body costs even a GET. */
  body?: RequestBodyDoc;
  /**
   * false: the body limit (MAX_BODY_BYTES) is not mounted, for a handler that
   * reads its body as a stream and bounds what it holds itself (the decision
   * stream: a line at a time). Default true for a route with a `body`.
   */
  bodyLimit?: false;
  /** Made once per app. */
  handler: (deps: ResolvedDeps) => Handler;
  /** The operation in the OpenAPI document; absent for what is not part of the API (the reference page's assets). */
  doc?: OperationDoc;
}

export type RouteTag = 'customers' | 'decisions' | 'outcomes' | 'rules' | 'reports' | 'operations';

/** Answers shared by several operations: components/responses of the document (openapi.ts). */
export type SharedResponse =
  | 'InvalidRequest'
  | 'InvalidCustomerId'
  | 'NotFound'
  | 'Unavailable'
  | 'NotReady'
  | 'StoreUnavailable';

/** Path parameters shared by several operations: components/parameters of the document (openapi.ts). */
export type SharedParameter = 'CustomerId' | 'DecisionCustomerId' | 'Placement';

export interface OperationDoc {
  operationId: string;
  summary: string;
  /** What it does. The document adds who may call it. */
  description: string;
  tag: RouteTag;
  /** Each `:name` of the path, as a shared parameter. */
  pathParameters?: Readonly<Record<string, SharedParameter>>;
  /** Query parameters, as OpenAPI parameter objects. */
  query?: readonly object[];
  /**
   * Status → answer. The document adds 401, 403 and 500 to a scoped route,
   * and 413 to a route that reads a body.
   */
  responses: Readonly<Record<number, ResponseDoc>>;
}

export interface RequestBodyDoc {
  description: string;
  /** Default application/json. For application/x-ndjson, `schemas` describe each line and the examples are the body's text. */
  contentType?: string;
  /** The schemas the body may take: one, or several (oneOf). The handler validates with the same ones. */
  schemas: readonly [z.ZodType, ...z.ZodType[]];
  /** Each one is sent for real by test/http/openapi.test.ts and must be answered with a 2xx. */
  examples: Readonly<Record<string, { summary: string; value: unknown }>>;
}

export type ResponseDoc =
  | SharedResponse
  /** An answer with no body (204). */
  | { description: string }
  /** A JSON answer; `alsoContent`: other media types the same answer may take (a report as CSV). */
  | { description: string; json: z.ZodType; example?: object; alsoContent?: Readonly<Record<string, { schema: Record<string, unknown> }>> }
  /** A problem+json answer with examples; its schema is Problem unless named. */
  | { description: string; problems: Readonly<Record<string, object>>; schema?: z.ZodType }
  /** Anything else, as OpenAPI writes it (a text or HTML page); `headers` as OpenAPI header objects. */
  | { description: string; content: Readonly<Record<string, { schema: Record<string, unknown> }>>; headers?: Readonly<Record<string, object>> };

/** Declares a route; the identity, for the type check where a route is written. */
export function defineRoute(route: RouteDef): RouteDef {
  return route;
}
