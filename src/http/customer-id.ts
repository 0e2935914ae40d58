import { customerIdSchema } from '../domain/ids.js';
import { validationProblem } from './problem.js';

export function parseCustomerId(raw: string | undefined, path = '$.customerId'): string {
  const parsed = customerIdSchema.safeParse(raw ?? '');
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? 'is invalid';
    throw validationProblem(`customerId ${message}`, [{ path, message }]);
  }
  return parsed.data;
}
