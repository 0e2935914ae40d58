/**
 * The OpenAPI 3.1 document of the whole HTTP API, served at GET /openapi.json.
 *
 * Request bodies are generated from the very zod schemas the routes validate
 * with, answers from src/domain/responses.ts; test/http/openapi.test.ts sends
 * real requests and holds every answer to the schema documented here, so the
 * document cannot drift from the routes without a test failing.
 */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import * as z from 'zod';
import type { Scope } from '../config.js';
import * as decisions from '../domain/decision.js';
import { batchDecisionRequestSchema, decisionRequestSchema, MAX_BATCH_REQUESTS, MAX_PLACEMENTS_PER_REQUEST } from '../domain/decision.js';
import { CUSTOMER_ID_PATTERN, SLUG_PATTERN } from '../domain/ids.js';
import { jsonValueSchema } from '../domain/json.js';
import { profilePatchSchema, profileViewSchema } from '../domain/profile.js';
import * as answers from '../domain/responses.js';
import { MAX_TOUCHPOINTS_PER_REQUEST, touchpointBatchSchema, touchpointInputSchema, touchpointViewSchema } from '../domain/touchpoint.js';
import * as traces from '../domain/trace.js';
import { PROBLEM_TYPES } from './problem.js';

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
  ProfilePatch: profilePatchSchema,
  DecisionRequest: decisionRequestSchema,
  BatchDecisionRequest: batchDecisionRequestSchema,
} satisfies Record<string, z.ZodType>;

/** Answers, generated as output schemas: what the service sends. */
const RESPONSE_SCHEMAS = {
  JsonValue: jsonValueSchema,
  FieldError: answers.fieldErrorSchema,
  Problem: answers.problemSchema,
  NotReadyProblem: answers.notReadyProblemSchema,
  Health: answers.healthSchema,
  Ready: answers.readySchema,
  AppendResult: answers.appendResultSchema,
  TouchpointView: touchpointViewSchema,
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
  RuleError: answers.ruleErrorSchema,
  RulesStatus: answers.rulesStatusSchema,
} satisfies Record<string, z.ZodType>;

const COMPONENT_DESCRIPTIONS: Record<string, string> = {
  JsonValue: 'Any JSON value.',
  ConditionTrace: 'A condition and its result: all / any / not (with their sub-conditions traced), a segment reference (with the segment traced), or a fact condition.',
  Decision: 'The items to show in each placement, and why.',
  ProfileView: "A customer's profile: attributes, current stage and touchpoints.",
  RulesStatus: 'The rules serving, and how the latest loads went.',
};

let memo: OpenApiObject | undefined;
let memoText: string | undefined;

/** The document; built on first use, then the same (frozen) object every time. */
export function buildOpenApiDocument(): object {
  memo ??= deepFreeze(buildDocument());
  return memo;
}

/** GET /openapi.json. Open to all, like /healthz: it describes the API, it holds no data. */
export function openApiRoutes(): Hono {
  const app = new Hono();
  app.get('/openapi.json', (c) => {
    memoText ??= JSON.stringify(buildOpenApiDocument());
    return c.body(memoText, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
  });
  return app;
}

// ---- the document -----------------------------------------------------------

function buildDocument(): OpenApiObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'nextbest',
      version: packageVersion(),
      summary: 'Next-best content and offer decisions from declarative rules.',
      description: INFO_DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // No `servers`: paths are relative to wherever this document is served from.
    tags: [
      { name: 'customers', description: 'Profiles: attributes, journey stage, touchpoints.' },
      { name: 'decisions', description: 'Next-best content and offers, one customer or many at once.' },
      { name: 'rules', description: 'The rules serving.' },
      { name: 'operations', description: 'Liveness, readiness, metrics and this documentation. Open to all.' },
    ],
    paths: buildPaths(),
    components: {
      schemas: buildComponentSchemas(),
      responses: buildComponentResponses(),
      parameters: {
        CustomerId: customerIdParameter('id'),
        DecisionCustomerId: customerIdParameter('customerId'),
      },
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

const INFO_DESCRIPTION = `Keeps each customer's profile (attributes, journey stage, touchpoint history) and decides the next-best content and offers for them from the rule files the service hot-reloads.

**Errors** are \`application/problem+json\` (RFC 9457): \`{ type, title, status, detail }\`, with \`errors: [{ path, message }]\` naming every field at fault when a request is invalid. Malformed JSON or an invalid field: 400; unknown route or customer: 404; a body over the limit (1 MB by default): 413. Bad input never causes a 5xx.

**Authentication**: when the service is started with \`API_KEYS\` (\`key:scope[+scope…]\`), every \`/v1\` operation needs a key, as \`Authorization: Bearer <key>\` or \`X-API-Key: <key>\`, with the scope the operation names (\`x-required-scope\`); \`admin\` holds every scope. No or unknown key: 401 (before anything else, so an unknown route without a key is a 401 too); a key without the scope: 403. Without \`API_KEYS\` nothing is checked. \`/healthz\`, \`/readyz\`, \`/metrics\`, \`/openapi.json\` and \`/docs\` are always open.`;

function packageVersion(): string {
  // src/http and dist/http are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

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

const EXAMPLES = {
  validation: {
    type: PROBLEM_TYPES.validation,
    title: 'Invalid request',
    status: 400,
    detail: '$.touchpoints[3].at: is more than 5 minutes in the future',
    errors: [{ path: '$.touchpoints[3].at', message: 'is more than 5 minutes in the future' }],
  },
  decisionValidation: {
    type: PROBLEM_TYPES.validation,
    title: 'Invalid request',
    status: 400,
    detail: '$.placements: needs at least one placement',
    errors: [{ path: '$.placements', message: 'needs at least one placement' }],
  },
  malformedJson: {
    type: PROBLEM_TYPES.malformedJson,
    title: 'Malformed JSON',
    status: 400,
    detail: 'the body is not valid JSON: Unexpected end of JSON input',
  },
  unknownPlacement: {
    type: PROBLEM_TYPES.unknownPlacement,
    title: 'Unknown placement',
    status: 400,
    detail: 'unknown placement: home-heor; the rules define home-hero, cart-sidebar',
    errors: [{ path: '$.placements[0]', message: 'unknown placement "home-heor"' }],
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

function buildComponentResponses(): OpenApiObject {
  return {
    InvalidRequest: {
      description: 'Malformed JSON, or an invalid field: `errors` names every field at fault by JSON path.',
      content: problemContent({ validation: EXAMPLES.validation, malformedJson: EXAMPLES.malformedJson }),
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
      content: problemContent({ unauthorized: EXAMPLES.unauthorized }),
    },
    Forbidden: {
      description: "The key lacks the operation's scope; `scope` names it.",
      content: problemContent({ forbidden: EXAMPLES.forbidden }),
    },
    NotFound: {
      description: 'The customer has never been seen (or was deleted).',
      content: problemContent({ notFound: EXAMPLES.notFound }),
    },
    TooLarge: {
      description: 'The body is larger than MAX_BODY_BYTES (1 MB by default).',
      content: problemContent({ tooLarge: EXAMPLES.tooLarge }),
    },
    Unavailable: {
      description: 'No rules are loaded yet, or the profile store does not answer; try again after Retry-After seconds.',
      headers: RETRY_AFTER,
      content: problemContent({ notReady: EXAMPLES.notReady, storeUnavailable: EXAMPLES.storeUnavailable }),
    },
    NotReady: {
      description:
        'No rules are loaded yet (only just after start-up); try again after Retry-After seconds. A failing profile store does not cause this: decisions then answer as for a new visitor, with degraded: true.',
      headers: RETRY_AFTER,
      content: problemContent({ notReady: EXAMPLES.notReady }),
    },
    StoreUnavailable: {
      description: 'The profile store does not answer; try again after Retry-After seconds.',
      headers: RETRY_AFTER,
      content: problemContent({ storeUnavailable: EXAMPLES.storeUnavailable }),
    },
    InternalError: {
      description: 'An unexpected failure; it is logged, and the answer reveals nothing inside.',
      content: problemContent({ internal: EXAMPLES.internal }),
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

interface OperationSpec {
  operationId: string;
  summary: string;
  description: string;
  tag: 'customers' | 'decisions' | 'rules' | 'operations';
  /** The API_KEYS scope needed (`admin` holds every scope); null: always open. */
  scope: Scope | null;
  parameters?: object[];
  requestBody?: object;
  /** Status → response object (or a $ref to a component response). */
  responses: Record<string, object>;
}

function operation(spec: OperationSpec): OpenApiObject {
  const secured = spec.scope !== null;
  const scopeText = !secured
    ? '\n\nOpen: no API key is needed, even when API_KEYS is set.'
    : spec.scope === 'admin'
      ? '\n\nScope: `admin` (when API_KEYS is set).'
      : `\n\nScope: \`${spec.scope}\` or \`admin\` (when API_KEYS is set).`;
  const errors: Record<string, object> = secured
    ? { '401': responseRef('Unauthorized'), '403': responseRef('Forbidden'), '500': responseRef('InternalError') }
    : {};
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    description: spec.description + scopeText,
    tags: [spec.tag],
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: sortByStatus({ ...spec.responses, ...errors }),
    // With API_KEYS unset nothing is checked; OpenAPI 3.1 lets a non-OAuth requirement name the role it needs.
    security: secured ? [{ bearerAuth: [spec.scope] }, { apiKeyHeader: [spec.scope] }] : [],
    ...(secured ? { 'x-required-scope': spec.scope } : {}),
  };
}

function sortByStatus(responses: Record<string, object>): Record<string, object> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

function jsonResponse(description: string, schema: string, example?: object) {
  return { description, content: { [JSON_TYPE]: { schema: ref(schema), ...(example ? { example } : {}) } } };
}

function jsonBody(description: string, schema: JsonSchema, examples: Record<string, { summary: string; value: unknown }>) {
  return { required: true, description, content: { [JSON_TYPE]: { schema, examples } } };
}

/** Request examples: each one is sent for real by test/http/openapi.test.ts and must be answered with a 2xx. */
const REQUEST_EXAMPLES = {
  appendTouchpoints: {
    single: {
      summary: 'One touchpoint',
      value: { id: 'evt-1001', type: 'cart_add', channel: 'web', at: '2026-01-31T12:00:00Z', properties: { sku: 'SKU-1', price: 19.9 } },
    },
    batch: {
      summary: 'Several touchpoints at once',
      value: {
        touchpoints: [
          { type: 'page_view', channel: 'web', at: '2026-01-31T11:58:00Z', properties: { url: '/jackets' } },
          { type: 'email_open', channel: 'email', at: '2026-01-31T12:05:00+01:00' },
        ],
      },
    },
  },
  patchCustomer: {
    attributes: { summary: 'Merge attributes', value: { attributes: { tier: 'gold', nickname: null } } },
    stage: { summary: 'Set the stage explicitly', value: { stage: 'retention' } },
    clearStage: { summary: 'Let the rules infer the stage again', value: { stage: null } },
  },
  decide: {
    simple: { summary: 'One placement', value: { customerId: 'c-42', placements: ['home-hero'], context: { channel: 'web' } } },
    explain: { summary: 'With explain', value: { customerId: 'c-42', placements: ['home-hero'], context: { channel: 'web', device: 'mobile' }, explain: true } },
  },
  decideBatch: {
    batch: {
      summary: 'Two customers',
      value: {
        requests: [
          { customerId: 'c-42', placements: ['home-hero'], context: { channel: 'email' } },
          { customerId: 'c-43', placements: ['home-hero'] },
        ],
      },
    },
  },
} as const;

const DECISION_EXAMPLE = {
  decisionId: '6f1c2a9e-3d7b-4c1e-9a55-0b6d2f7e8c10',
  customerId: 'c-42',
  stage: 'consideration',
  stageSource: 'inferred',
  rulesVersion: '3f9a1c2b7d4e',
  placements: {
    'home-hero': {
      items: [{ id: 'hero-cart', kind: 'content', rule: 'cart-abandoners', title: 'Still thinking it over?', url: 'https://www.example.com/cart' }],
      fallback: false,
    },
  },
};

function buildPaths(): OpenApiObject {
  const idParameter = parameterRef('CustomerId');
  const v1Body = { '413': responseRef('TooLarge') };
  return {
    '/healthz': {
      get: operation({
        operationId: 'getHealth',
        summary: 'Liveness',
        description: 'Answers 200 while the process lives.',
        tag: 'operations',
        scope: null,
        responses: { '200': jsonResponse('The process is alive.', 'Health', { status: 'ok' }) },
      }),
    },
    '/readyz': {
      get: operation({
        operationId: 'getReadiness',
        summary: 'Readiness',
        description: 'Answers 200 once rules are loaded and the profile store answers (within 1 s); 503 until then.',
        tag: 'operations',
        scope: null,
        responses: {
          '200': jsonResponse('Ready to serve.', 'Ready', { status: 'ready', rulesVersion: '3f9a1c2b7d4e', store: 'ok' }),
          '503': {
            description: 'Not ready: `checks` says what is missing.',
            content: problemContent(
              {
                notReady: { ...EXAMPLES.notReady, checks: { rules: 'not loaded', store: 'ok' } },
              },
              'NotReadyProblem',
            ),
          },
        },
      }),
    },
    '/metrics': {
      get: operation({
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format: nextbest_decisions_total, nextbest_decision_duration_seconds (histogram), nextbest_profile_cache_hits_total, nextbest_profile_cache_misses_total, nextbest_rules_reloads_total{result}, nextbest_touchpoints_ingested_total, and more.',
        tag: 'operations',
        scope: null,
        responses: {
          '200': {
            description: 'The metrics, in the Prometheus text exposition format.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      }),
    },
    '/openapi.json': {
      get: operation({
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        description: 'The OpenAPI 3.1 document of the whole HTTP API.',
        tag: 'operations',
        scope: null,
        responses: {
          '200': { description: 'The OpenAPI document.', content: { [JSON_TYPE]: { schema: { type: 'object' } } } },
        },
      }),
    },
    '/docs': {
      get: operation({
        operationId: 'getApiReference',
        summary: 'API reference',
        description: 'A human API reference (Swagger UI) of this document; every asset is served by the service itself.',
        tag: 'operations',
        scope: null,
        responses: { '200': { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      }),
    },
    '/v1/customers/{id}/touchpoints': {
      parameters: [idParameter],
      post: operation({
        operationId: 'appendTouchpoints',
        summary: 'Record touchpoints',
        description: `Records one touchpoint, or up to ${MAX_TOUCHPOINTS_PER_REQUEST} as \`{ "touchpoints": [...] }\`, for the customer (created if never seen). They are stored durably before the answer. A touchpoint whose \`id\` was already stored for the customer counts as a duplicate and is not stored again. Touchpoints older than the retention period, or beyond the per-profile cap, are dropped oldest first.`,
        tag: 'customers',
        scope: 'ingest',
        requestBody: jsonBody(
          'A touchpoint, or `{ "touchpoints": [...] }`.',
          { oneOf: [ref('TouchpointInput'), ref('TouchpointBatch')] },
          REQUEST_EXAMPLES.appendTouchpoints,
        ),
        responses: {
          '202': jsonResponse('Stored.', 'AppendResult', { accepted: 2, duplicates: 0 }),
          '400': responseRef('InvalidRequest'),
          ...v1Body,
          '503': responseRef('StoreUnavailable'),
        },
      }),
    },
    '/v1/customers/{id}': {
      parameters: [idParameter],
      get: operation({
        operationId: 'getCustomer',
        summary: 'Read a profile',
        description: "The customer's profile: attributes, current stage (and where it came from), touchpoints newest first.",
        tag: 'customers',
        scope: 'profiles',
        responses: {
          '200': jsonResponse('The profile.', 'ProfileView'),
          '400': responseRef('InvalidCustomerId'),
          '404': responseRef('NotFound'),
          '503': responseRef('Unavailable'),
        },
      }),
      patch: operation({
        operationId: 'patchCustomer',
        summary: 'Update a profile',
        description:
          'Merges `attributes` as a JSON merge patch (RFC 7386: `null` deletes a key) and sets or clears the explicit `stage`. A customer never seen is created. Answers the profile as it is now.',
        tag: 'customers',
        scope: 'ingest',
        requestBody: jsonBody('What to change.', ref('ProfilePatch'), REQUEST_EXAMPLES.patchCustomer),
        responses: {
          '200': jsonResponse('The profile after the change.', 'ProfileView'),
          '400': responseRef('InvalidRequest'),
          ...v1Body,
          '503': responseRef('Unavailable'),
        },
      }),
      delete: operation({
        operationId: 'deleteCustomer',
        summary: 'Delete a profile',
        description: 'Deletes the customer: every trace is gone, caches included.',
        tag: 'customers',
        scope: 'profiles',
        responses: {
          '204': { description: 'Deleted.' },
          '400': responseRef('InvalidCustomerId'),
          '404': responseRef('NotFound'),
          '503': responseRef('StoreUnavailable'),
        },
      }),
    },
    '/v1/decisions': {
      post: operation({
        operationId: 'decide',
        summary: 'Decide',
        description: `Decides up to ${MAX_PLACEMENTS_PER_REQUEST} placements for one customer (a customer never seen is a new visitor). With \`explain: true\` the decision also says why: each placement's \`trace\` (every rule, whether it matched, each condition's fact value and outcome) and the decision's \`stageTrace\`.`,
        tag: 'decisions',
        scope: 'decide',
        requestBody: jsonBody('The customer, the placements, and the context the rules may read.', ref('DecisionRequest'), REQUEST_EXAMPLES.decide),
        responses: {
          '200': jsonResponse('The decision.', 'Decision', DECISION_EXAMPLE),
          '400': decisionInvalid(true),
          ...v1Body,
          '503': responseRef('NotReady'),
        },
      }),
    },
    '/v1/decisions/{customerId}': {
      parameters: [parameterRef('DecisionCustomerId')],
      get: operation({
        operationId: 'decideByQuery',
        summary: 'Decide, from a URL',
        description:
          'The same as `POST /v1/decisions`, for a link or an image tag: the placements are `placement` query parameters, and every other query parameter becomes a string field of `context` (the first value of a repeated one). There is no explain here.',
        tag: 'decisions',
        scope: 'decide',
        parameters: [
          {
            name: 'placement',
            in: 'query',
            required: true,
            description: `A placement to decide; repeat for more (at most ${MAX_PLACEMENTS_PER_REQUEST}).`,
            style: 'form',
            explode: true,
            schema: { type: 'array', minItems: 1, maxItems: MAX_PLACEMENTS_PER_REQUEST, items: { type: 'string', pattern: SLUG_PATTERN.source } },
            examples: { one: { value: ['home-hero'] } },
          },
          {
            name: 'context',
            in: 'query',
            required: false,
            description: 'Any other query parameter, e.g. `?channel=web&device=mobile`: each becomes a string field of the context the rules read.',
            style: 'form',
            explode: true,
            schema: { type: 'object', additionalProperties: { type: 'string' } },
            examples: { web: { value: { channel: 'web' } } },
          },
        ],
        responses: {
          '200': jsonResponse('The decision.', 'Decision', DECISION_EXAMPLE),
          '400': decisionInvalid(false),
          '503': responseRef('NotReady'),
        },
      }),
    },
    '/v1/decisions/batch': {
      post: operation({
        operationId: 'decideBatch',
        summary: 'Decide for many customers',
        description: `Up to ${MAX_BATCH_REQUESTS} decision requests at once, e.g. at send time. Each request is checked on its own: \`results\` holds, in request order, a decision or the problem of that request. Only a bad envelope answers 400.`,
        tag: 'decisions',
        scope: 'decide',
        requestBody: jsonBody('The decision requests.', ref('BatchDecisionRequest'), REQUEST_EXAMPLES.decideBatch),
        responses: {
          '200': jsonResponse('One decision or problem per request, in order.', 'BatchDecisionResults'),
          '400': responseRef('InvalidRequest'),
          ...v1Body,
          '503': responseRef('NotReady'),
        },
      }),
    },
    '/v1/rules': {
      get: operation({
        operationId: 'getRulesStatus',
        summary: 'The rules serving',
        description:
          'The version and placements of the rules serving, and how loading went: `errors` are those of the latest failed load (the last good rules keep serving), `[]` after a good one.',
        tag: 'rules',
        scope: 'admin',
        responses: { '200': jsonResponse('The rules status.', 'RulesStatus') },
      }),
    },
  };
}

function parameterRef(name: string) {
  return { $ref: `#/components/parameters/${name}` };
}

function decisionInvalid(withBody: boolean) {
  return {
    description: withBody
      ? 'Malformed JSON, an invalid field, or placements the rules do not define (each named in `errors`).'
      : 'An invalid customer id, no placement, or placements the rules do not define (each named in `errors`).',
    content: problemContent({
      validation: EXAMPLES.decisionValidation,
      ...(withBody ? { malformedJson: EXAMPLES.malformedJson } : {}),
      unknownPlacement: EXAMPLES.unknownPlacement,
    }),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
