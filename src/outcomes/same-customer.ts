/**
 * Whether an outcome's customer is the customer the decision was made for
 * (contract section 8). Plain equality for now: once aliases exist, two ids
 * of one customer (same canonical id) are the same customer, and this is the
 * one place that learns it.
 */
export function sameCustomer(decisionCustomer: string, outcomeCustomer: string): boolean {
  return decisionCustomer === outcomeCustomer;
}
