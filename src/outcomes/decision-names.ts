/**
 * The names decision ids refer to by number (placement names, item ids, rule
 * names), as this process holds them: a copy of the list the profile store
 * keeps for every replica (ProfileStore.addDecisionNames). The signer looks
 * names up here synchronously and never waits on the store: a name without a
 * number yet is written in full, and asked to be numbered in the background,
 * several at once. The verifier reads numbers here; one it does not know
 * (another replica numbered it since) makes it read the store's list again,
 * at most once every REFRESH_MS, one read shared by every verify waiting.
 *
 * The list only grows, so a copy is always the start of the store's list,
 * and a longer answer simply extends it.
 */
import { MAX_DECISION_NAMES, type DecisionNameList } from '../profiles/store.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';

/** At most one read of the store's list this often (a verify that meets an unknown number waits for it). */
export const REFRESH_MS = 500;
/** How long names a decision wrote in full gather before one call numbers them. */
const BATCH_MS = 20;
/** After a failed call, how long before the names are sent again. */
const RETRY_MS = 5000;

/** What of the profile store the dictionary uses. */
export interface DecisionNameStore {
  addDecisionNames(names: readonly string[]): Promise<DecisionNameList>;
  decisionNames(): Promise<DecisionNameList>;
}

export interface DecisionNames {
  /** The name's number; undefined while it has none here. */
  numberOf(name: string): number | undefined;
  /** The number's name; undefined when this process does not know the number. */
  nameOf(number: number): string | undefined;
  /** How many names are numbered here. */
  readonly size: number;
  /** A name the signer wrote in full: have it numbered, later and with others. Cheap, never throws. */
  missing(name: string): void;
  /**
   * Numbers these names (a new rule set's) now; resolves when the store has
   * answered and the answer is held here. When the store fails, rejects, and
   * the names are sent again every few seconds until it answers.
   */
  share(names: readonly string[]): Promise<void>;
  /**
   * Reads the store's list again: at most one read every REFRESH_MS, so a
   * call may wait for the next one; every caller meanwhile shares it. Rejects
   * when the store fails (what is held here stays).
   */
  refresh(): Promise<void>;
  /** Holds a list read elsewhere (the decision workers of `nextbest offers` get their parent's). */
  adopt(list: DecisionNameList): void;
  /** Stops sending names again after a failure. */
  stop(): void;
}

export interface DecisionNamesOptions {
  /** Where the list is kept for every replica; absent: nothing is ever numbered, ids carry every name in full. */
  store?: DecisionNameStore | null;
  /** Told about a failed call to the store, and about a store list that disagrees with this copy. */
  onError?: (error: Error) => void;
  /** A monotonic clock in ms; tests inject one. */
  now?: () => number;
  /** Waits for the rate limit of `refresh`; tests inject one. */
  sleep?: (ms: number) => Promise<void>;
  refreshMs?: number;
  batchMs?: number;
  retryMs?: number;
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createDecisionNames(options: DecisionNamesOptions = {}): DecisionNames {
  const store = options.store ?? null;
  const onError = options.onError ?? (() => undefined);
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? sleepFor;
  const refreshMs = options.refreshMs ?? REFRESH_MS;
  const batchMs = options.batchMs ?? BATCH_MS;
  const retryMs = options.retryMs ?? RETRY_MS;
  const names: string[] = [];
  const numbers = new Map<string, number>();
  /** Names the store has answered for: a name it did not number then (the list is full) is not asked again. */
  const answered = new Set<string>();
  /** Names waiting to be sent. */
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let sending = false;
  let refreshing: Promise<void> | null = null;
  let lastRefresh = -Infinity;
  let stopped = false;

  function adopt(list: DecisionNameList): void {
    const common = Math.min(list.length, names.length);
    for (let n = 0; n < common; n++) {
      if (list[n] !== names[n]) {
        // Only when the store's list was emptied or replaced: it is the one other replicas read, so it wins.
        onError(new Error(`the decision name list in the store differs from this process's at number ${n}; taking the store's`));
        names.length = 0;
        numbers.clear();
        break;
      }
    }
    for (let n = names.length; n < list.length; n++) {
      const name = list[n] as string;
      names.push(name);
      if (!numbers.has(name)) numbers.set(name, n);
    }
  }

  function schedule(delay: number): void {
    if (timer !== undefined || stopped || pending.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void send();
    }, delay);
    timer.unref();
  }

  /** Sends the pending names in one call; on failure they stay pending and go again after RETRY_MS. */
  async function send(): Promise<void> {
    if (sending || !store || pending.size === 0) return;
    sending = true;
    const batch = [...pending];
    pending.clear();
    try {
      adopt(await store.addDecisionNames(batch));
      for (const name of batch) answered.add(name);
      schedule(batchMs);
    } catch (error) {
      for (const name of batch) if (!numbers.has(name)) pending.add(name);
      onError(error as Error);
      schedule(retryMs);
    } finally {
      sending = false;
    }
  }

  return {
    numberOf: (name) => numbers.get(name),
    nameOf: (number) => names[number],
    get size() {
      return names.length;
    },
    missing(name) {
      if (!store || numbers.has(name) || answered.has(name) || pending.has(name) || names.length >= MAX_DECISION_NAMES) return;
      pending.add(name);
      schedule(batchMs);
    },
    async share(list) {
      if (!store) return;
      const fresh = list.filter((name) => !numbers.has(name));
      try {
        adopt(await store.addDecisionNames(fresh));
        for (const name of fresh) answered.add(name);
      } catch (error) {
        for (const name of fresh) pending.add(name);
        schedule(retryMs);
        throw error;
      }
    },
    refresh() {
      if (!store) return Promise.resolve();
      refreshing ??= (async () => {
        try {
          const wait = lastRefresh + refreshMs - now();
          if (wait > 0) await sleep(wait);
          lastRefresh = now();
          adopt(await store.decisionNames());
        } finally {
          refreshing = null;
        }
      })();
      return refreshing;
    },
    adopt,
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Every name a decision of this rule set can carry: placement names, item ids, rule names. */
export function decisionNamesOf(snapshot: RulesetSnapshot): string[] {
  const found = new Set<string>();
  for (const placement of snapshot.placements.values()) {
    found.add(placement.name);
    for (const rule of placement.rules) found.add(rule.name);
  }
  for (const id of snapshot.catalog.keys()) found.add(id);
  return [...found];
}
