/** A customer id's canonical id (ProfileStore.resolve): the customer it is an alias of, else itself. */
export type ResolveCustomer = (customerId: string) => Promise<string>;

/**
 * Whether an outcome's customer is the customer the decision was made for
 * (contract section 8): the same id, or two ids of one customer (the same
 * canonical id: an alias is the same customer, whichever side of the merge
 * the decision or the outcome was made on). The store is asked only when the
 * ids differ, which a client that sends back the id it decided for never does.
 */
export async function sameCustomer(decisionCustomer: string, outcomeCustomer: string, resolve: ResolveCustomer): Promise<boolean> {
  if (decisionCustomer === outcomeCustomer) return true;
  const [a, b] = await Promise.all([resolve(decisionCustomer), resolve(outcomeCustomer)]);
  return a === b;
}
