import { CUSTOMER_ID_PATTERN, customerIdSchema } from '../domain/ids.js';
import { validationProblem } from './problem.js';

export function parseCustomerId(raw: string | undefined, path = '$.customerId'): string {
  // The schema's own pattern first: a valid id (nearly every one) needs no zod result object.
  if (raw !== undefined && CUSTOMER_ID_PATTERN.test(raw)) return raw;
  const parsed = customerIdSchema.safeParse(raw ?? '');
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? 'is invalid';
    throw validationProblem(`customerId ${message}`, [{ path, message }]);
  }
  return parsed.data;
}
