// Rate-limit counters kept in process and synchronised with a shared counter every few tens of ms.

import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';

/**
 * Adds `hits` to the shared counter `key` (one fixed window, `windowMs` long) and answers its
 * total across every replica. Each call is one atomic step in the shared store.
 */
export type SharedCounter = (key: string, hits: number, windowMs: number) => Promise<number>;

export interface SyncedRateLimitStoreOptions {
  /** Prepended to every shared counter key; keeps limiters apart. */
  prefix: string;
  /** How often hits counted here are added to the shared counters (ms). */
  syncMs: number;
  add: SharedCounter;
  /** Told when a synchronisation fails; counting goes on locally and the hits are sent again. */
  onError: (error: unknown) => void;
}

interface WindowCount {
  /** Index of the fixed window: floor(now / windowMs), the same on every replica. */
  window: number;
  /** The shared total as last heard from the shared store (it includes this replica's sent hits). */
  shared: number;
  /** Hits sent and not yet acknowledged. */
  sending: number;
  /** Hits counted here and not yet sent. */
  pending: number;
  /** The key's limit in this window, when the limiter has told it (setLimit). */
  limit?: number;
}

/**
 * An express-rate-limit store that answers requests from memory, with no round trip, while an
 * account is under half its limit in the window, and adds the hits it counted to a shared counter
 * per account and window every `syncMs`. From half the limit on, every hit is added to the shared
 * counter before it is answered, so the decision near the limit is made on the shared count.
 *
 * What it guarantees: within one replica the count is exact (every hit is counted before the
 * answer). Across replicas, each knows the others' hits as of its last synchronisation (at most
 * `syncMs` after its own latest hit), so in one window the replicas together admit beyond the limit
 * at most what the others admitted from memory and had not yet sent: in the worst case of
 * simultaneous bursts on every replica, (replicas − 1) × limit / 2; at a steady rate,
 * (replicas − 1) × what one replica admits in `syncMs`. Without a limit (setLimit) every hit is
 * answered from memory and the worst case is replicas × limit. Windows are fixed and aligned to
 * the clock (floor(now / windowMs)), so replicas whose clocks disagree by d ms share a window for
 * all but d ms of it.
 *
 * A failed synchronisation (shared store down) is reported and retried at the next interval; in
 * the meantime each replica limits on its own count, so the limit holds per replica. Hits sent
 * when the reply was lost are sent again: the count can err high, never low.
 */
export class SyncedRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 1000;
  private readonly counts = new Map<string, WindowCount>();
  /** Counts of past windows, replaced in `counts` while they still had hits to send. */
  private leftovers: [string, WindowCount][] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly options: SyncedRateLimitStoreOptions) {
    this.prefix = options.prefix;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  private current(key: string): WindowCount {
    const window = Math.floor(Date.now() / this.windowMs);
    let count = this.counts.get(key);
    if (count === undefined || count.window !== window) {
      // Hits of the window gone by not yet sent still go to its shared counter.
      if (count !== undefined && count.pending > 0) this.leftovers.push([key, count]);
      count = { window, shared: 0, sending: 0, pending: 0 };
      this.counts.set(key, count);
    }
    return count;
  }

  private info(count: WindowCount): ClientRateLimitInfo {
    return { totalHits: count.shared + count.sending + count.pending, resetTime: new Date((count.window + 1) * this.windowMs) };
  }

  get(key: string): ClientRateLimitInfo {
    return this.info(this.current(key));
  }

  /** The key's limit for the current window; set before each increment (a limit may change per account). */
  setLimit(key: string, limit: number): void {
    this.current(key).limit = limit;
  }

  increment(key: string): IncrementResponse | Promise<IncrementResponse> {
    return this.incrementBy(key, 1);
  }

  /** Counts `hits` at once (a request that costs several, e.g. a commit of several ops). */
  incrementBy(key: string, hits: number): IncrementResponse | Promise<IncrementResponse> {
    const count = this.current(key);
    count.pending += hits;
    const seen = count.shared + count.sending + count.pending;
    if (count.limit === undefined || 2 * seen <= count.limit) {
      this.schedule();
      return this.info(count);
    }
    return this.send(key, count).then(() => this.info(count));
  }

  decrement(key: string): void {
    const count = this.counts.get(key);
    if (count !== undefined && count.pending > 0) count.pending -= 1;
  }

  resetKey(key: string): void {
    this.counts.delete(key);
  }

  /** Sends what is pending now and stops the timer (at shutdown). */
  async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }

  /** One flush at a time: a new one is scheduled when the last ends, if hits are pending. */
  private schedule(): void {
    if (this.timer !== undefined || this.flushing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.leftovers.length > 0 || [...this.counts.values()].some((count) => count.pending > 0)) this.schedule();
      });
    }, this.options.syncMs);
    this.timer.unref();
  }

  /** One shared-counter call per account with hits pending; windows gone by are forgotten. */
  private async flush(): Promise<void> {
    const now = Math.floor(Date.now() / this.windowMs);
    const sends: Promise<void>[] = this.leftovers.map(([key, count]) => this.send(key, count));
    this.leftovers = [];
    for (const [key, count] of this.counts) {
      // A window gone by is forgotten once all its hits are in the shared counter.
      if (count.window < now && count.sending === 0 && count.pending === 0) {
        this.counts.delete(key);
        continue;
      }
      if (count.pending > 0) sends.push(this.send(key, count));
    }
    await Promise.all(sends);
  }

  /** Adds the key's pending hits to its shared counter and learns the shared total. Never rejects. */
  private async send(key: string, count: WindowCount): Promise<void> {
    const hits = count.pending;
    count.pending = 0;
    count.sending += hits;
    try {
      // Kept past its window so a replica whose clock runs behind still finds it.
      const total = await this.options.add(`${this.prefix}${key}:${count.window}`, hits, 2 * this.windowMs);
      count.sending -= hits;
      count.shared = Math.max(count.shared, total - count.sending);
    } catch (error) {
      count.sending -= hits;
      count.pending += hits;
      // A past window's count is tried again while its shared counter can still matter.
      const replaced = this.counts.get(key) !== count;
      if (replaced && count.window >= Math.floor(Date.now() / this.windowMs) - 1) this.leftovers.push([key, count]);
      this.options.onError(error);
      this.schedule();
    }
  }
}
