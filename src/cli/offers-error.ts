/** The run cannot go on (bad configuration, invalid rules, the service refusing or gone, a decision worker stopped). */
export class OffersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffersError';
  }
}
