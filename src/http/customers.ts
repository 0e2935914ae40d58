import { Hono } from 'hono';
import type { FieldError } from '../domain/errors.js';
import { findForbiddenKey, isPlainObject, jsonByteLength, joinPath } from '../domain/json.js';
import { profilePatchSchema, toProfileView, type Profile } from '../domain/profile.js';
import {
  MAX_FUTURE_SKEW_MS,
  MAX_TOUCHPOINT_PROPERTIES_BYTES,
  touchpointBatchSchema,
  touchpointInputSchema,
  type StoredTouchpoint,
  type TouchpointInput,
} from '../domain/touchpoint.js';
import { profileStage } from '../decide/decide.js';
import { parseCustomerId } from './customer-id.js';
import type { ResolvedDeps } from './deps.js';
import { notFoundProblem, validationProblem } from './problem.js';
import { parseWith, readJson, rejectForbiddenKeys } from './request-body.js';

export function customersRoutes(deps: ResolvedDeps): Hono {
  const app = new Hono();

  app.post('/:id/touchpoints', async (c) => {
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
    return c.json(result, 202);
  });

  app.patch('/:id', async (c) => {
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
  });

  app.get('/:id', async (c) => {
    const customerId = parseCustomerId(c.req.param('id'));
    const profile = await deps.store.get(customerId);
    if (!profile) throw notFoundProblem(`customer "${customerId}" has never been seen`);
    return c.json(await view(deps, profile));
  });

  app.delete('/:id', async (c) => {
    const customerId = parseCustomerId(c.req.param('id'));
    const existed = await deps.store.delete(customerId);
    if (!existed) throw notFoundProblem(`customer "${customerId}" has never been seen`);
    return c.body(null, 204);
  });

  return app;
}

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
