/**
 * One way to decorate a store port. A decorator (timeout, circuit breaker,
 * metrics) says once what happens around a call; `wrapStore` puts that around
 * every method the port lists, so a method added to a port is listed once, in
 * the port's file, and no decorator changes. A decorator names only the
 * methods it must leave alone (`close`, background upkeep).
 *
 * The list is data because TypeScript interfaces do not exist at run time:
 * enumerating the object instead would also wrap whatever extra an adapter
 * carries (the redis store's `watchChanges`, which is synchronous), and
 * `methodList` makes the compiler reject a list that misses one.
 */

/** The names of T's methods that return a promise: the ones a decorator can wrap. */
export type AsyncMethodName<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T] &
  string;

/** What a decorator does around one call: `call` runs the inner store's method with the caller's arguments. */
export type AroundCall<M extends string> = <R>(method: M, call: () => Promise<R>) => Promise<R>;

export interface WrapStoreOptions<M extends string> {
  /** Methods passed straight to the inner store, never through `around`. */
  exempt?: readonly M[];
}

/**
 * A store that answers every method in `methods` through `around`, and the
 * exempt ones straight from `store`. Other properties (the adapter's `kind`)
 * are copied. Each call looks the method up on `store` when it is made, as a
 * hand-written `(id) => inner.get(id)` would.
 */
export function wrapStore<T extends object, M extends AsyncMethodName<T>>(
  store: T,
  methods: readonly M[],
  around: AroundCall<M>,
  options: WrapStoreOptions<M> = {},
): T {
  const exempt = new Set<M>(options.exempt);
  const wrapped = { ...store } as Record<string, unknown>;
  for (const method of methods) {
    const callInner = (args: unknown[]) => (store[method] as (...args: unknown[]) => Promise<unknown>).apply(store, args);
    wrapped[method] = exempt.has(method) ? (...args: unknown[]) => callInner(args) : (...args: unknown[]) => around(method, () => callInner(args));
  }
  return wrapped as T;
}

/**
 * The port's method list, checked: `methodList<ProfileStore>()([...])`
 * compiles only when the array names every method of the port that returns a
 * promise, and nothing else.
 */
export function methodList<T>() {
  return <const L extends readonly AsyncMethodName<T>[]>(
    list: L & ([Exclude<AsyncMethodName<T>, L[number]>] extends [never] ? unknown : { missing: Exclude<AsyncMethodName<T>, L[number]> }),
  ): L => list;
}
