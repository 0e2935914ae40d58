import type { RuleError } from '../domain/rule-files.js';

/** "file: path: message", the form the validate command and start-up print. */
export function formatRuleError(error: RuleError): string {
  return `${error.file}: ${error.path}: ${error.message}`;
}
