/**
 * The OpenAPI 3.1 document of the whole HTTP API, served at GET /openapi.json.
 *
 * Written from the route table (routes.ts): each route's entry gives its
 * operation, and its scope and body give the security and the 401, 403, 413
 * and 500 answers, so a route cannot be served and not documented, or
 * documented with another scope. Request bodies are generated from the very
 * zod schemas the routes validate with, answers from the schemas their types
 * are derived from; test/http/openapi.test.ts sends real requests and holds
 * every answer to the schema documented here.
 */
import * as z from 'zod';
import { journeyReportSchema } from '../domain/journey.js';
import { simulationAnswerSchema, simulationRequestSchema } from '../domain/simulation.js';
import * as decisions from '../domain/decision.js';
import { batchDecisionRequestSchema, decisionRequestSchema } from '../domain/decision.js';
import { streamProblemSchema } from '../domain/decision-stream.js';
import { CUSTOMER_ID_PATTERN, SLUG_PATTERN } from '../domain/ids.js';
import { jsonValueSchema } from '../domain/json.js';
import { outcomeAppendResultSchema, outcomeBatchSchema, outcomeInputSchema, outcomeViewSchema } from '../domain/outcome.js';
import { aliasRequestSchema, profilePatchSchema, profileViewSchema } from '../domain/profile.js';
import * as answers from '../domain/responses.js';
import * as reports from '../domain/report.js';
import { touchpointBatchSchema, touchpointInputSchema, touchpointViewSchema } from '../domain/touchpoint.js';
import * as traces from '../domain/trace.js';
import { PROBLEM_TYPES } from './problem.js';
import { defineRoute, type OperationDoc, type RequestBodyDoc, type ResponseDoc, type RouteDef, type SharedParameter, type SharedResponse } from './route.js';
import { compressible, encodedAnswer, type Compressed } from './compressed.js';
import { packageVersion } from '../version.js';

export type JsonSchema = Record<string, unknown>;
type OpenApiObject = Record<string, unknown>;

const SCHEMAS = '#/components/schemas/';
const ref = (name: string): JsonSchema => ({ $ref: `${SCHEMAS}${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

const PROBLEM_JSON = 'application/problem+json';
const JSON_TYPE = 'application/json';

/** Request bodies, generated as input schemas: what a client may send. */
const REQUEST_SCHEMAS = {
  TouchpointInput: touchpointInputSchema,
  TouchpointBatch: touchpointBatchSchema,
  OutcomeInput: outcomeInputSchema,
  OutcomeBatch: outcomeBatchSchema,
  ProfilePatch: profilePatchSchema,
  AliasRequest: aliasRequestSchema,
  DecisionRequest: decisionRequestSchema,
  BatchDecisionRequest: batchDecisionRequestSchema,
  SimulationRequest: simulationRequestSchema,
} satisfies Record<string, z.ZodType>;

/** Answers, generated as output schemas: what the service sends. */
const RESPONSE_SCHEMAS = {
  JsonValue: jsonValueSchema,
  FieldError: answers.fieldErrorSchema,
  Problem: answers.problemSchema,
  NotReadyProblem: answers.notReadyProblemSchema,
  Health: answers.healthSchema,
  Ready: answers.readySchema,
  ServiceIndex: answers.serviceIndexSchema,
  AppendResult: answers.appendResultSchema,
  TouchpointView: touchpointViewSchema,
  OutcomeAppendResult: outcomeAppendResultSchema,
  OutcomeView: outcomeViewSchema,
  ProfileView: profileViewSchema,
  FactConditionTrace: traces.factConditionTraceSchema,
  ConditionTrace: traces.conditionTraceSchema,
  AllConditionTrace: traces.allConditionTraceSchema,
  AnyConditionTrace: traces.anyConditionTraceSchema,
  NotConditionTrace: traces.notConditionTraceSchema,
  SegmentConditionTrace: traces.segmentConditionTraceSchema,
  ItemTrace: traces.itemTraceSchema,
  RuleTrace: traces.ruleTraceSchema,
  StageRuleTrace: traces.stageRuleTraceSchema,
  StageTrace: traces.stageTraceSchema,
  ServedItem: decisions.servedItemSchema,
  PlacementDecision: decisions.placementDecisionSchema,
  Decision: decisions.decisionSchema,
  BatchDecisionResults: decisions.batchDecisionResultsSchema,
  StreamProblem: streamProblemSchema,
  RuleError: answers.ruleErrorSchema,
  PlacementReport: reports.placementReportSchema,
  ReportRow: reports.reportRowSchema,
  ReportDay: reports.reportDaySchema,
  ReportTotals: reports.reportTotalsSchema,
  RateInterval: reports.rateSchema,
  Lift: reports.liftSchema,
  RulesStatus: answers.rulesStatusSchema,
  JourneyReport: journeyReportSchema,
  SimulationAnswer: simulationAnswerSchema,
} satisfies Record<string, z.ZodType>;

const COMPONENT_DESCRIPTIONS: Record<string, string> = {
  JsonValue: 'Any JSON value.',
  ConditionTrace: 'A condition and its result: all / any / not (with their sub-conditions traced), a segment reference (with the segment traced), or a fact condition.',
  Decision: 'The items to show in each placement, and why.',
  ProfileView: "A customer's profile: attributes, current stage, touchpoints, outcomes and aliases.",
  RulesStatus: 'The rules serving, and how the latest loads went.',
};

/** The component name of each schema the document names, for the routes' references. */
const SCHEMA_NAMES: ReadonlyMap<z.ZodType, string> = new Map(
  [...Object.entries(REQUEST_SCHEMAS), ...Object.entries(RESPONSE_SCHEMAS)].map(([name, schema]) => [schema as z.ZodType, name]),
);

const documents = new WeakMap<readonly RouteDef[], { document: object; body: Compressed }>();

/** The document of these routes; built on first use, then the same (frozen) object every time. */
export function openApiDocument(routes: readonly RouteDef[]): object {
  return built(routes).document;
}

function built(routes: readonly RouteDef[]): { document: object; body: Compressed } {
  let found = documents.get(routes);
  if (!found) {
    const document = deepFreeze(buildDocument(routes));
    const text = Buffer.from(JSON.stringify(document), 'utf8');
    const body = new Uint8Array(new ArrayBuffer(text.byteLength));
    body.set(text);
    found = { document, body: compressible(body) };
    documents.set(routes, found);
  }
  return found;
}

/**
 * GET /openapi.json, the document of the routes given (the whole table, which
 * holds this route too: hence asked for when first served, not when declared).
 * Open to all, like /healthz: it describes the API, it holds no data.
 */
export function openApiDocumentRoute(routes: () => readonly RouteDef[]): RouteDef {
  return defineRoute({
    method: 'GET',
    path: '/openapi.json',
    scope: 'open',
    handler: () => (c) => {
      const answer = encodedAnswer(built(routes()).body, c.req.header('Accept-Encoding'));
      return c.body(answer.body, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', ...answer.headers });
    },
    doc: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      description: 'The OpenAPI 3.1 document of the whole HTTP API.',
      tag: 'operations',
      responses: {
        200: { description: 'The OpenAPI document.', content: { [JSON_TYPE]: { schema: { type: 'object' } } } },
      },
    },
  });
}

// ---- the document -----------------------------------------------------------

function buildDocument(routes: readonly RouteDef[]): OpenApiObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'nextbest',
      version: packageVersion(),
      summary: 'Next-best content and offer decisions from declarative rules.',
      description: infoDescription(routes),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // No `servers`: paths are relative to wherever this document is served from.
    tags: [
      { name: 'customers', description: 'Profiles: attributes, journey stage, touchpoints.' },
      { name: 'decisions', description: 'Next-best content and offers, one customer or many at once.' },
      { name: 'outcomes', description: 'What customers did with what decisions served: impressions, clicks, conversions, dismissals.' },
      { name: 'rules', description: 'The rules serving.' },
      { name: 'reports', description: 'What placements served and what customers did with it, and the journey map.' },
      { name: 'operations', description: 'Liveness, readiness, metrics and this documentation. Open to all.' },
    ],
    paths: buildPaths(routes),
    components: {
      schemas: buildComponentSchemas(),
      responses: buildComponentResponses(),
      parameters: buildComponentParameters(),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key of API_KEYS as `Authorization: Bearer <key>`.',
        },
        apiKeyHeader: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'An API key of API_KEYS as `X-API-Key: <key>`.',
        },
      },
    },
  };
}

function infoDescription(routes: readonly RouteDef[]): string {
  const open = routes.filter((r) => r.scope === 'open' && r.doc).map((r) => `\`${r.path}\``);
  const listed = open.length > 1 ? `${open.slice(0, -1).join(', ')} and ${open.at(-1)}` : (open[0] ?? 'No path');
  return `${INFO_DESCRIPTION} ${listed} ${open.length > 1 ? 'are' : 'is'} always open.`;
}

const INFO_DESCRIPTION = `Keeps each customer's profile (attributes, journey stage, touchpoint history) and decides the next-best content and offers for them from the rule files the service hot-reloads.

**Errors** are \`application/problem+json\` (RFC 9457): \`{ type, title, status, detail }\`, with \`errors: [{ path, message }]\` naming every field at fault when a request is invalid. Malformed JSON or an invalid field: 400; unknown route or customer: 404; a body over the limit (1 MB by default): 413. Bad input never causes a 5xx.

**Authentication**: when the service is started with \`API_KEYS\` (\`key:scope[+scope…]\`), every \`/v1\` operation needs a key, as \`Authorization: Bearer <key>\` or \`X-API-Key: <key>\`, with the scope the operation names (\`x-required-scope\`); \`admin\` holds every scope. No or unknown key: 401 (before anything else, so an unknown route without a key is a 401 too); a key without the scope: 403. Without \`API_KEYS\` nothing is checked.`;

// ---- component schemas ------------------------------------------------------

function buildComponentSchemas(): Record<string, JsonSchema> {
  const requests = generate(REQUEST_SCHEMAS, 'input');
  const responses = generate(RESPONSE_SCHEMAS, 'output');
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of [...Object.entries(responses), ...Object.entries(requests)]) {
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    schemas[name] = COMPONENT_DESCRIPTIONS[name] && rest.description === undefined ? { description: COMPONENT_DESCRIPTIONS[name], ...rest } : rest;
  }
  return schemas;
}

/**
 * Generates a set of named schemas into components/schemas. zod puts schemas
 * it has to share without a name (the recursive z.json() of a request schema)
 * under "__shared", which OpenAPI cannot address: each is replaced by the
 * JsonValue component it is equal to, and anything else is a build error.
 */
function generate(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    cycles: 'ref',
    unrepresentable: 'throw',
    uri: (id) => `${SCHEMAS}${id}`,
    override: ({ zodSchema, jsonSchema }) => refine(zodSchema, jsonSchema as JsonSchema, io),
  }) as { schemas: Record<string, JsonSchema> };
  const { __shared: shared, ...rest } = schemas;
  const defs = (shared?.$defs ?? {}) as Record<string, JsonSchema>;
  if (Object.keys(defs).length === 0) return rest;
  const aliases = new Map<string, string>();
  const jsonValue = jsonValueShape();
  for (const [id, def] of Object.entries(defs)) {
    const sharedRef = `${SCHEMAS}__shared#/$defs/${id}`;
    if (JSON.stringify(def).split(sharedRef).join(`${SCHEMAS}JsonValue`) !== jsonValue) {
      throw new Error(`openapi: a shared schema is not JSON any value and needs a name: ${JSON.stringify(def).slice(0, 200)}`);
    }
    aliases.set(sharedRef, `${SCHEMAS}JsonValue`);
  }
  return replaceRefs(rest, aliases) as Record<string, JsonSchema>;
}

/** The JSON Schema zod writes for z.json(), its self-reference named JsonValue, as text. */
function jsonValueShape(): string {
  const registry = z.registry<{ id: string }>();
  registry.add(z.json(), { id: 'JsonValue' });
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', uri: (id) => `${SCHEMAS}${id}` }) as { schemas: Record<string, JsonSchema> };
  const { $schema: _dialect, $id: _id, ...shape } = schemas.JsonValue ?? {};
  return JSON.stringify(shape);
}

function replaceRefs(value: unknown, aliases: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceRefs(v, aliases));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof v === 'string' ? (aliases.get(v) ?? v) : replaceRefs(v, aliases);
  }
  return out;
}

function refine(zodSchema: z.core.$ZodType, json: JsonSchema, io: 'input' | 'output'): void {
  // z.int() bounds itself to safe integers: noise in a reference.
  if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
  if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
  const def = zodSchema._zod.def;
  if (io === 'output') {
    // Answers carry at least the fields documented (contract section 5): a plain z.object is open to readers.
    if (def.type === 'object' && (def as { catchall?: unknown }).catchall === undefined && json.additionalProperties === false) {
      delete json.additionalProperties;
    }
    // The service writes Date#toISOString(): format says it all, the pattern is only noise.
    if (json.format === 'date-time') delete json.pattern;
  }
  // The batch envelope takes each request as it comes (one bad request answers a problem in its place), but what to send is a decision request.
  if (zodSchema === batchDecisionRequestSchema.shape.requests) {
    json.items = {
      ...ref('DecisionRequest'),
      description: 'Each request is checked on its own: an invalid one gets a problem in its place in `results`, not a 400 for the batch.',
    };
  }
}

// ---- shared responses and parameters -----------------------------------------

function problemContent(examples: Record<string, object>, schema = 'Problem') {
  return {
    [PROBLEM_JSON]: {
      schema: ref(schema),
      examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])),
    },
  };
}

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
};

/** Problems the document shows as examples, for the routes' answers too. Each is checked against the Problem schema. */
export const PROBLEM_EXAMPLES = {
  validation: {
    type: PROBLEM_TYPES.validation,
    title: 'Invalid request',
    status: 400,
    detail: '$.touchpoints[3].at: is more than 5 minutes in the future',
    errors: [{ path: '$.touchpoints[3].at', message: 'is more than 5 minutes in the future' }],
  },
  malformedJson: {
    type: PROBLEM_TYPES.malformedJson,
    title: 'Malformed JSON',
    status: 400,
    detail: 'the body is not valid JSON: Unexpected end of JSON input',
  },
  notFound: { type: PROBLEM_TYPES.notFound, title: 'Not found', status: 404, detail: 'customer "c-42" has never been seen' },
  tooLarge: { type: PROBLEM_TYPES.tooLarge, title: 'Body too large', status: 413, detail: 'the body must be at most 1048576 bytes' },
  notReady: { type: PROBLEM_TYPES.notReady, title: 'Not ready', status: 503, detail: 'no rules are loaded yet' },
  storeUnavailable: {
    type: PROBLEM_TYPES.storeUnavailable,
    title: 'Profile store unavailable',
    status: 503,
    detail: 'the profile store did not answer within 1000 ms',
  },
  unauthorized: {
    type: PROBLEM_TYPES.unauthorized,
    title: 'Unauthorized',
    status: 401,
    detail: 'this request needs an API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
  },
  forbidden: {
    type: PROBLEM_TYPES.forbidden,
    title: 'Forbidden',
    status: 403,
    detail: 'POST /v1/decisions needs the "decide" scope (or "admin"), which this API key does not have',
    scope: 'decide',
  },
  internal: {
    type: PROBLEM_TYPES.internal,
    title: 'Internal error',
    status: 500,
    detail: 'the service failed to handle the request; it has been logged',
  },
} satisfies Record<string, answers.ProblemAnswer>;

function buildComponentResponses(): Record<SharedResponse | 'Unauthorized' | 'Forbidden' | 'TooLarge' | 'InternalError', object> {
  return {
    InvalidRequest: {
      description: 'Malformed JSON, or an invalid field: `errors` names every field at fault by JSON path.',
      content: problemContent({ validation: PROBLEM_EXAMPLES.validation, malformedJson: PROBLEM_EXAMPLES.malformedJson }),
    },
    InvalidCustomerId: {
      description: 'The customer id in the path is not 1-128 characters of `A-Z a-z 0-9 . _ : @ -`.',
      content: problemContent({
        validation: {
          type: PROBLEM_TYPES.validation,
          title: 'Invalid request',
          status: 400,
          detail: 'customerId must be 1-128 characters of A-Z a-z 0-9 . _ : @ -',
          errors: [{ path: '$.customerId', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -' }],
        },
      }),
    },
    Unauthorized: {
      description: 'API_KEYS is set and the request has no key, or an unknown one.',
      headers: {
        'WWW-Authenticate': { description: 'The scheme to authenticate with.', schema: { type: 'string', examples: ['Bearer realm="nextbest"'] } },
      },
      content: problemContent({ unauthorized: PROBLEM_EXAMPLES.unauthorized }),
    },
    Forbidden: {
      description: "The key lacks the operation's scope; `scope` names it.",
      content: problemContent({ forbidden: PROBLEM_EXAMPLES.forbidden }),
    },
    NotFound: {
      description: 'The customer has never been seen (or was deleted).',
      content: problemContent({ notFound: PROBLEM_EXAMPLES.notFound }),
    },
    TooLarge: {
      description: 'The body is larger than MAX_BODY_BYTES (1 MB by default).',
      content: problemContent({ tooLarge: PROBLEM_EXAMPLES.tooLarge }),
    },
    Unavailable: {
      description: 'No rules are loaded yet, or the profile store does not answer; try again after Retry-After seconds.',
      headers: RETRY_AFTER,
      content: problemContent({ notReady: PROBLEM_EXAMPLES.notReady, storeUnavailable: PROBLEM_EXAMPLES.storeUnavailable }),
    },
    NotReady: {
      description:
        'No rules are loaded yet (only just after start-up); try again after Retry-After seconds. A failing profile store does not cause this: decisions then answer as for a new visitor, with degraded: true.',
      headers: RETRY_AFTER,
      content: problemContent({ notReady: PROBLEM_EXAMPLES.notReady }),
    },
    StoreUnavailable: {
      description: 'The profile store does not answer; try again after Retry-After seconds.',
      headers: RETRY_AFTER,
      content: problemContent({ storeUnavailable: PROBLEM_EXAMPLES.storeUnavailable }),
    },
    InternalError: {
      description: 'An unexpected failure; it is logged, and the answer reveals nothing inside.',
      content: problemContent({ internal: PROBLEM_EXAMPLES.internal }),
    },
  };
}

function buildComponentParameters(): Record<SharedParameter, { name: string; [key: string]: unknown }> {
  return {
    CustomerId: customerIdParameter('id'),
    DecisionCustomerId: customerIdParameter('customerId'),
    Placement: {
      name: 'placement',
      in: 'path',
      required: true,
      description: 'A placement of the loaded rules.',
      schema: { type: 'string', pattern: SLUG_PATTERN.source, examples: ['home-hero'] },
    },
  };
}

function customerIdParameter(name: 'id' | 'customerId') {
  return {
    name,
    in: 'path',
    required: true,
    description: 'The customer id: 1-128 characters of `A-Z a-z 0-9 . _ : @ -`. A customer never seen before is valid: a new visitor.',
    schema: { type: 'string', pattern: CUSTOMER_ID_PATTERN.source, examples: ['c-42'] },
  };
}

// ---- operations -----------------------------------------------------------------

function buildPaths(routes: readonly RouteDef[]): OpenApiObject {
  const parameters = buildComponentParameters();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (!route.doc) continue;
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const item = (paths[path] ??= {});
    const shared = pathParameters(route, route.doc, parameters);
    if (shared.length > 0) {
      // Parameters of the path, said once for all its operations: they must agree.
      if (item.parameters !== undefined && JSON.stringify(item.parameters) !== JSON.stringify(shared)) {
        throw new Error(`openapi: ${route.doc.operationId} names the parameters of ${path} differently from another operation there`);
      }
      item.parameters = shared;
    }
    item[route.method.toLowerCase()] = operation(route, route.doc);
  }
  return paths;
}

/** The path's parameters as references to shared ones; each `:name` of the path must be declared, and nothing else. */
function pathParameters(route: RouteDef, doc: OperationDoc, components: Record<SharedParameter, { name: string }>): object[] {
  const inPath = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
  const declared = Object.entries(doc.pathParameters ?? {});
  const wrong = declared.length !== inPath.length || declared.some(([name, shared]) => !inPath.includes(name) || components[shared].name !== name);
  if (wrong) throw new Error(`openapi: ${doc.operationId} must declare the parameters of ${route.path} (${inPath.join(', ') || 'none'}), each by its name`);
  return declared.map(([, shared]) => ({ $ref: `#/components/parameters/${shared}` }));
}

function operation(route: RouteDef, doc: OperationDoc): OpenApiObject {
  const scope = route.scope === 'open' ? null : route.scope;
  const scopeText =
    scope === null
      ? '\n\nOpen: no API key is needed, even when API_KEYS is set.'
      : scope === 'admin'
        ? '\n\nScope: `admin` (when API_KEYS is set).'
        : `\n\nScope: \`${scope}\` or \`admin\` (when API_KEYS is set).`;
  const responses: Record<string, object> = {};
  for (const [status, answer] of Object.entries(doc.responses)) responses[status] = response(answer, `${doc.operationId} ${status}`);
  // What the route's mounting adds: the body limit where a body is read, the key and scope checks where a scope is needed.
  if (route.body && route.bodyLimit !== false) responses['413'] = responseRef('TooLarge');
  if (scope !== null) Object.assign(responses, { '401': responseRef('Unauthorized'), '403': responseRef('Forbidden'), '500': responseRef('InternalError') });
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description + scopeText,
    tags: [doc.tag],
    ...(doc.query ? { parameters: doc.query } : {}),
    ...(route.body ? { requestBody: requestBody(route.body, doc.operationId) } : {}),
    responses: sortByStatus(responses),
    // With API_KEYS unset nothing is checked; OpenAPI 3.1 lets a non-OAuth requirement name the role it needs.
    security: scope !== null ? [{ bearerAuth: [scope] }, { apiKeyHeader: [scope] }] : [],
    ...(scope !== null ? { 'x-required-scope': scope } : {}),
  };
}

function sortByStatus(responses: Record<string, object>): Record<string, object> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

function response(answer: ResponseDoc, where: string): object {
  if (typeof answer === 'string') return responseRef(answer);
  if ('json' in answer) {
    const example = answer.example ? { example: answer.example } : {};
    return { description: answer.description, content: { [JSON_TYPE]: { schema: schemaRef(answer.json, where), ...example }, ...answer.alsoContent } };
  }
  if ('problems' in answer) {
    return { description: answer.description, content: problemContent(answer.problems, answer.schema ? schemaName(answer.schema, where) : 'Problem') };
  }
  if ('content' in answer) return { description: answer.description, ...(answer.headers ? { headers: answer.headers } : {}), content: answer.content };
  return { description: answer.description };
}

function requestBody(body: RequestBodyDoc, where: string): object {
  const [only, ...more] = body.schemas;
  const schema = more.length === 0 ? schemaRef(only, where) : { oneOf: body.schemas.map((s) => schemaRef(s, where)) };
  return { required: true, description: body.description, content: { [body.contentType ?? JSON_TYPE]: { schema, examples: body.examples } } };
}

function schemaRef(schema: z.ZodType, where: string): JsonSchema {
  return ref(schemaName(schema, where));
}

function schemaName(schema: z.ZodType, where: string): string {
  const name = SCHEMA_NAMES.get(schema);
  if (name === undefined) throw new Error(`openapi: ${where} refers to a schema the document does not name: add it to REQUEST_SCHEMAS or RESPONSE_SCHEMAS`);
  return name;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
