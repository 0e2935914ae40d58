/**
 * Every error answer is application/problem+json (RFC 9457), built here and
 * only here: typed errors from any layer are mapped to a status and type once.
 */
import { HTTPException } from 'hono/http-exception';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { UnknownPlacementsError } from '../decide/decide.js';
import { InvalidInputError, NotFoundError, StoreUnavailableError, type FieldError } from '../domain/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Problem types, as relative URI references (RFC 9457 section 3.1.1). */
export const PROBLEM_TYPES = {
  validation: '/problems/validation-error',
  unknownPlacement: '/problems/unknown-placement',
  malformedJson: '/problems/malformed-json',
  notFound: '/problems/not-found',
  aliasConflict: '/problems/alias-conflict',
  aliasLimit: '/problems/alias-limit',
  tooLarge: '/problems/body-too-large',
  storeUnavailable: '/problems/store-unavailable',
  notReady: '/problems/not-ready',
  internal: '/problems/internal-error',
  unauthorized: '/problems/unauthorized',
  forbidden: '/problems/forbidden',
} as const;

/** An error that already knows its problem answer. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
    this.name = 'HttpProblem';
  }
}

export function validationProblem(detail: string, errors: FieldError[]): HttpProblem {
  return new HttpProblem({ type: PROBLEM_TYPES.validation, title: 'Invalid request', status: 400, detail, errors });
}

/** 409: the request is valid but conflicts with what is stored (an alias of another customer, too many aliases). */
export function conflictProblem(type: string, title: string, detail: string, errors: FieldError[]): HttpProblem {
  return new HttpProblem({ type, title, status: 409, detail, errors });
}

export function notFoundProblem(detail: string): HttpProblem {
  return new HttpProblem({ type: PROBLEM_TYPES.notFound, title: 'Not found', status: 404, detail });
}

export const STORE_RETRY_AFTER_SECONDS = 5;

/** The problem for any error; unexpected errors become a 500 that reveals nothing inside. */
export function toProblem(err: unknown): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof HttpProblem) return { problem: err.problem, headers: err.headers };
  if (err instanceof UnknownPlacementsError) {
    return {
      problem: { type: PROBLEM_TYPES.unknownPlacement, title: 'Unknown placement', status: 400, detail: err.message, errors: err.errors },
      headers: {},
    };
  }
  if (err instanceof InvalidInputError) {
    return {
      problem: { type: PROBLEM_TYPES.validation, title: 'Invalid request', status: 400, detail: err.message, errors: err.errors },
      headers: {},
    };
  }
  if (err instanceof NotFoundError) {
    return { problem: { type: PROBLEM_TYPES.notFound, title: 'Not found', status: 404, detail: err.message }, headers: {} };
  }
  if (err instanceof StoreUnavailableError) {
    return {
      problem: { type: PROBLEM_TYPES.storeUnavailable, title: 'Profile store unavailable', status: 503, detail: err.message },
      headers: { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) },
    };
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    return {
      problem: {
        type: status === 413 ? PROBLEM_TYPES.tooLarge : status >= 500 ? PROBLEM_TYPES.internal : PROBLEM_TYPES.validation,
        title: status === 413 ? 'Body too large' : status >= 500 ? 'Internal error' : 'Invalid request',
        status,
        detail: err.message || 'the request could not be handled',
      },
      headers: {},
    };
  }
  return {
    problem: { type: PROBLEM_TYPES.internal, title: 'Internal error', status: 500, detail: 'the service failed to handle the request; it has been logged' },
    headers: {},
  };
}

export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, {
    ...headers,
    'Content-Type': 'application/problem+json',
  });
}
