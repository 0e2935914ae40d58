/** A customer's profile: touchpoints in, attributes and stage set, aliases added, read and deleted. */
import type { FieldError } from '../domain/errors.js';
import { findForbiddenKey, isPlainObject, jsonByteLength, joinPath } from '../domain/json.js';
import { aliasRequestSchema, profilePatchSchema, profileViewSchema, toProfileView, type Profile } from '../domain/profile.js';
import { appendResultSchema } from '../domain/responses.js';
import {
  MAX_FUTURE_SKEW_MS,
  MAX_TOUCHPOINT_PROPERTIES_BYTES,
  MAX_TOUCHPOINTS_PER_REQUEST,
  touchpointBatchSchema,
  touchpointInputSchema,
  type StoredTouchpoint,
  type TouchpointInput,
} from '../domain/touchpoint.js';
import { profileStage } from '../decide/decide.js';
import { parseCustomerId } from './customer-id.js';
import type { ResolvedDeps } from './deps.js';
import { conflictProblem, notFoundProblem, PROBLEM_TYPES, validationProblem } from './problem.js';
import { parseWith, readJson, rejectForbiddenKeys } from './request-body.js';
import { defineRoute } from './route.js';

export const customerRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/customers/:id/touchpoints',
    scope: 'ingest',
    body: {
      description: 'A touchpoint, or `{ "touchpoints": [...] }`.',
      schemas: [touchpointInputSchema, touchpointBatchSchema],
      examples: {
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
    },
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      const body = await readJson(c);
      const now = deps.now();
      const touchpoints = isPlainObject(body) && 'touchpoints' in body
        ? parseWith(touchpointBatchSchema, body).touchpoints.map((tp, i) => toStored(tp, `$.touchpoints[${i}]`, now))
        : [toStored(parseWith(touchpointInputSchema, body), '$', now)];
      const errors = touchpoints.flatMap((t) => t.errors);
      if (errors.length > 0) throw validationProblem(`${errors[0]?.path}: ${errors[0]?.message}`, errors);
      const result = await deps.store.appendTouchpoints(customerId, touchpoints.map((t) => t.touchpoint), now);
      deps.metrics.recordTouchpoints(result);
      return c.json({ accepted: result.accepted, duplicates: result.duplicates, expired: result.expired }, 202);
    },
    doc: {
      operationId: 'appendTouchpoints',
      summary: 'Record touchpoints',
      description: `Records one touchpoint, or up to ${MAX_TOUCHPOINTS_PER_REQUEST} as \`{ "touchpoints": [...] }\`, for the customer (created if never seen). They are stored durably before the answer. A touchpoint whose \`id\` was already stored for the customer counts as a duplicate and is not stored again. A touchpoint already older than the retention period when it arrives is not stored and counts as \`expired\`; beyond the per-profile cap, the oldest touchpoints are dropped.`,
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        202: { description: 'Stored.', json: appendResultSchema, example: { accepted: 2, duplicates: 0, expired: 0 } },
        400: 'InvalidRequest',
        503: 'StoreUnavailable',
      },
    },
  }),

  defineRoute({
    method: 'GET',
    path: '/v1/customers/:id',
    scope: 'profiles',
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      const profile = await deps.store.get(customerId);
      if (!profile) throw notFoundProblem(`customer "${customerId}" has never been seen`);
      return c.json(await view(deps, profile));
    },
    doc: {
      operationId: 'getCustomer',
      summary: 'Read a profile',
      description:
        "The customer's profile: attributes, current stage (and where it came from), touchpoints newest first, aliases. Given an alias, the profile of its canonical customer, whose id `customerId` holds.",
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        200: { description: 'The profile.', json: profileViewSchema },
        400: 'InvalidCustomerId',
        404: 'NotFound',
        503: 'Unavailable',
      },
    },
  }),

  defineRoute({
    method: 'PATCH',
    path: '/v1/customers/:id',
    scope: 'ingest',
    body: {
      description: 'What to change.',
      schemas: [profilePatchSchema],
      examples: {
        attributes: { summary: 'Merge attributes', value: { attributes: { tier: 'gold', nickname: null } } },
        stage: { summary: 'Set the stage explicitly', value: { stage: 'retention' } },
        clearStage: { summary: 'Let the rules infer the stage again', value: { stage: null } },
      },
    },
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      const body = parseWith(profilePatchSchema, await readJson(c));
      if (body.attributes) rejectForbiddenKeys(body.attributes, '$.attributes');
      const snapshot = deps.snapshot();
      if (typeof body.stage === 'string' && !snapshot.stageIndex.has(body.stage)) {
        const message = `unknown stage "${body.stage}"; stages are ${snapshot.stages.join(', ')}`;
        throw validationProblem(message, [{ path: '$.stage', message }]);
      }
      const profile = await deps.store.patch(
        customerId,
        { ...(body.attributes ? { attributes: body.attributes } : {}), ...(body.stage !== undefined ? { stage: body.stage } : {}) },
        deps.now(),
      );
      return c.json(await view(deps, profile));
    },
    doc: {
      operationId: 'patchCustomer',
      summary: 'Update a profile',
      description:
        'Merges `attributes` as a JSON merge patch (RFC 7386: `null` deletes a key) and sets or clears the explicit `stage`. A customer never seen is created. Answers the profile as it is now.',
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        200: { description: 'The profile after the change.', json: profileViewSchema },
        400: 'InvalidRequest',
        503: 'Unavailable',
      },
    },
  }),

  defineRoute({
    method: 'POST',
    path: '/v1/customers/:id/aliases',
    scope: 'ingest',
    body: {
      description: 'The other id of the same customer.',
      schemas: [aliasRequestSchema],
      examples: {
        login: { summary: 'A device id, now known to be this customer', value: { alias: 'device-7f3a' } },
      },
    },
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'), '$.id');
      const { alias } = parseWith(aliasRequestSchema, await readJson(c));
      if (alias === customerId) {
        const message = 'must differ from the customer id in the path';
        throw validationProblem(`alias ${message}`, [{ path: '$.alias', message }]);
      }
      const result = await deps.store.addAlias(customerId, alias, deps.now());
      if (result.kind === 'conflict') {
        const message = `already belongs to customer "${result.canonical}"`;
        throw conflictProblem(PROBLEM_TYPES.aliasConflict, 'Alias of another customer', `alias "${alias}" ${message}`, [{ path: '$.alias', message }]);
      }
      if (result.kind === 'limit') {
        const message = `the customer would have more than ${result.max} aliases (MAX_ALIASES_PER_CUSTOMER)`;
        throw conflictProblem(PROBLEM_TYPES.aliasLimit, 'Too many aliases', message, [{ path: '$.alias', message }]);
      }
      return c.json(await view(deps, result.profile));
    },
    doc: {
      operationId: 'addAlias',
      summary: 'Tie another id to the customer',
      description:
        "From now on `alias` and the customer are one customer (a device id and the login, say), whose canonical id is the path's (or, if that is itself an alias, its canonical id). What `alias` had is merged in: touchpoints (deduplicated by touchpoint id; retention and the per-profile cap applied), outcomes, attributes (the canonical value wins a conflict), the explicit stage (the canonical one's if set) and its own aliases. Every route given an alias then acts on the canonical customer. Ids never seen work. Repeating it, or naming an id already of the same customer, changes nothing (200). Atomic: a crash loses and duplicates nothing.",
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        200: { description: 'The merged profile, which lists `aliases`.', json: profileViewSchema },
        400: 'InvalidRequest',
        409: {
          description: '`alias` already belongs to another customer, or the customer would have more than MAX_ALIASES_PER_CUSTOMER aliases.',
          problems: {
            conflict: {
              type: PROBLEM_TYPES.aliasConflict,
              title: 'Alias of another customer',
              status: 409,
              detail: 'alias "device-7f3a" already belongs to customer "c-41"',
              errors: [{ path: '$.alias', message: 'already belongs to customer "c-41"' }],
            },
            limit: {
              type: PROBLEM_TYPES.aliasLimit,
              title: 'Too many aliases',
              status: 409,
              detail: 'the customer would have more than 100 aliases (MAX_ALIASES_PER_CUSTOMER)',
              errors: [{ path: '$.alias', message: 'the customer would have more than 100 aliases (MAX_ALIASES_PER_CUSTOMER)' }],
            },
          },
        },
        503: 'StoreUnavailable',
      },
    },
  }),

  defineRoute({
    method: 'DELETE',
    path: '/v1/customers/:id',
    scope: 'profiles',
    handler: (deps) => async (c) => {
      const customerId = parseCustomerId(c.req.param('id'));
      // The customer's outcomes leave the report counters first: if that fails, the customer is still there to
      // delete again, and taking an outcome back is idempotent, so a retry never takes it twice.
      // Given an alias, the canonical customer goes with all its aliases. An outcome was counted under the id it was sent
      // for, which may be any of them (one sent before a merge, under the alias): it is taken back under each.
      const profile = await deps.store.get(customerId);
      const outcomes = profile?.outcomes ?? [];
      const ids = profile ? [profile.customerId, ...(profile.aliases ?? [])] : [customerId];
      if (outcomes.length > 0) {
        await deps.reports.store.forgetOutcomes(ids.flatMap((id) => outcomes.map((outcome) => ({ ...outcome, customerId: id }))));
      }
      const existed = await deps.store.delete(customerId);
      if (!existed) throw notFoundProblem(`customer "${customerId}" has never been seen`);
      return c.body(null, 204);
    },
    doc: {
      operationId: 'deleteCustomer',
      summary: 'Delete a profile',
      description:
        "Deletes the customer: every trace is gone, caches included, and their outcomes leave the placement reports' counters. Given any id of a customer with aliases, the canonical customer and all its aliases are deleted.",
      tag: 'customers',
      pathParameters: { id: 'CustomerId' },
      responses: {
        204: { description: 'Deleted.' },
        400: 'InvalidCustomerId',
        404: 'NotFound',
        503: 'StoreUnavailable',
      },
    },
  }),
];

async function view(deps: ResolvedDeps, profile: Profile) {
  const stage = await profileStage(deps.snapshot(), profile, deps.now());
  return toProfileView(profile, stage.stage, stage.source);
}

function toStored(input: TouchpointInput, path: string, now: number): { touchpoint: StoredTouchpoint; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const at = input.at === undefined ? now : Date.parse(input.at);
  if (at > now + MAX_FUTURE_SKEW_MS) {
    errors.push({ path: joinPath(path, 'at'), message: 'is more than 5 minutes in the future' });
  }
  if (input.properties !== undefined) {
    const forbidden = findForbiddenKey(input.properties, joinPath(path, 'properties'));
    if (forbidden) errors.push({ path: forbidden, message: 'this key is not allowed' });
    if (jsonByteLength(input.properties) > MAX_TOUCHPOINT_PROPERTIES_BYTES) {
      errors.push({ path: joinPath(path, 'properties'), message: `must be at most ${MAX_TOUCHPOINT_PROPERTIES_BYTES} bytes as JSON` });
    }
  }
  return {
    touchpoint: { id: input.id ?? null, type: input.type, channel: input.channel, at, properties: input.properties ?? null },
    errors,
  };
}
