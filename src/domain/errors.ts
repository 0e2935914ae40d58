/** One problem with one field of a request or rule file, located by JSON path. */
export interface FieldError {
  path: string;
  message: string;
}

/** Input that breaks a rule of the domain (a request body, a patch result that grows too big). */
export class InvalidInputError extends Error {
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The profile store cannot be reached or did not answer in time; the caller may retry. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store could not read or write one customer's data because of the data
 * itself (a stored value it cannot parse, a key of the wrong type, a script
 * that refused its arguments). The store is otherwise healthy: this says
 * nothing about availability, so it never opens the circuit breaker, and a
 * retry would fail the same way.
 */
export class ProfileDataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProfileDataError';
  }
}
