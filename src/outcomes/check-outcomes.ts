/**
 * Checks outcomes against the decision ids they carry, without trusting
 * anything the client says: the decision id must be ours and unaltered, not
 * older than MAX_DECISION_AGE_DAYS, for the same customer, and must have served
 * the item in that placement. The rule and ranking arm stored with the outcome
 * come from the signed id, never from the client.
 */
import type { FieldError } from '../domain/errors.js';
import { joinPath } from '../domain/json.js';
import type { OutcomeInput, StoredOutcome } from '../domain/outcome.js';
import { MAX_FUTURE_SKEW_MS } from '../domain/touchpoint.js';
import { MAX_DECISION_AGE_DAYS, type DecisionSigner, type VerifyFailure } from './decision-id.js';
import { sameCustomer, type ResolveCustomer } from './same-customer.js';

/** Why an outcome is refused, as the metric counts it. */
export type RejectReason = 'invalid' | 'forged' | 'expired' | 'not-served' | 'other-customer';

export interface RejectedOutcome extends FieldError {
  reason: RejectReason;
}

export interface CheckedOutcomes {
  /** Per customer, in the order first seen: what to store. */
  byCustomer: Map<string, StoredOutcome[]>;
  /** Every outcome refused, each with its path; the batch is refused when there is any. */
  rejected: RejectedOutcome[];
}

const FAILURE_MESSAGES: Record<VerifyFailure, { reason: RejectReason; message: string }> = {
  malformed: { reason: 'forged', message: 'is not a decision id this service issued' },
  'unknown-key': { reason: 'forged', message: 'is not a decision id this service issued (unknown key)' },
  'bad-signature': { reason: 'forged', message: 'is not a decision id this service issued, or was altered' },
  expired: { reason: 'expired', message: `is older than ${MAX_DECISION_AGE_DAYS} days` },
};

/**
 * `paths[i]` locates `inputs[i]` in the request (`$` or `$.outcomes[i]`);
 * `resolve` gives a customer's canonical id, for outcomes sent for another id
 * of the decision's customer (an alias).
 */
export async function checkOutcomes(
  inputs: readonly OutcomeInput[],
  paths: readonly string[],
  signer: DecisionSigner,
  now: number,
  resolve: ResolveCustomer,
): Promise<CheckedOutcomes> {
  const byCustomer = new Map<string, StoredOutcome[]>();
  const rejected: RejectedOutcome[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as OutcomeInput;
    const path = paths[i] as string;
    const reject = (field: string, reason: RejectReason, message: string) => rejected.push({ path: joinPath(path, field), message, reason });
    const at = input.at === undefined ? now : Date.parse(input.at);
    if (at > now + MAX_FUTURE_SKEW_MS) {
      reject('at', 'invalid', 'is more than 5 minutes in the future');
      continue;
    }
    const verified = await signer.verify(input.decisionId, now);
    if (!verified.ok) {
      const failure = FAILURE_MESSAGES[verified.reason];
      reject('decisionId', failure.reason, failure.message);
      continue;
    }
    const { token } = verified;
    if (!(await sameCustomer(token.customerId, input.customerId, resolve))) {
      reject('customerId', 'other-customer', 'is not the customer the decision was made for');
      continue;
    }
    const placement = token.placements.get(input.placement);
    if (!placement) {
      reject('placement', 'not-served', `the decision did not decide placement "${input.placement}"`);
      continue;
    }
    const rule = placement.items.get(input.item);
    if (rule === undefined) {
      reject('item', 'not-served', `the decision did not serve "${input.item}" in ${input.placement}`);
      continue;
    }
    const stored: StoredOutcome = {
      decisionId: input.decisionId,
      placement: input.placement,
      item: input.item,
      rule,
      arm: placement.arm,
      kind: input.kind,
      at,
      value: input.value ?? null,
    };
    // Stored under the decision's customer; the store puts it on that customer's canonical id.
    const list = byCustomer.get(token.customerId);
    if (list) list.push(stored);
    else byCustomer.set(token.customerId, [stored]);
  }
  return { byCustomer, rejected };
}
