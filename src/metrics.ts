// Prometheus metrics (prom-client): one registry per app, so tests and replicas never share counters.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: sub-millisecond store calls up to multi-second outliers. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'kv_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'kv_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });

  readonly storeDuration = new Histogram({
    name: 'kv_store_operation_duration_seconds',
    help: 'Store operation latency, by store, operation and outcome (ok, or error when the store failed).',
    labelNames: ['store', 'operation', 'outcome'] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'kv_rate_limited_total',
    help: 'Requests refused with 429, by limiter (reads, writes, auth-failures).',
    labelNames: ['limiter'] as const,
    registers: [this.registry],
  });

  readonly writeConflicts = new Counter({
    name: 'kv_write_conflicts_total',
    help: 'Conditional writes refused, by operation and reason (exists: set-if-not-exists; version_mismatch: compare-and-swap; checks_failed: a commit whose checks did not hold).',
    labelNames: ['operation', 'reason'] as const,
    registers: [this.registry],
  });

  /**
   * The label children of each (method, route, status) and (store, operation, outcome), made once:
   * prom-client otherwise hashes the label object on every observation, on every request. Their
   * number is bounded (methods x route templates x statuses).
   */
  private readonly requestSeries = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<'method' | 'route' | 'status'> }>();
  private readonly storeSeries = new Map<string, Histogram.Internal<'store' | 'operation' | 'outcome'>>();

  /** One finished HTTP request: counted, and its duration observed. */
  observeRequest(method: string, route: string, status: string, seconds: number): void {
    const id = `${method} ${route} ${status}`;
    let series = this.requestSeries.get(id);
    if (series === undefined) {
      series = { count: this.httpRequests.labels(method, route, status), duration: this.httpDuration.labels(method, route, status) };
      this.requestSeries.set(id, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  /** One store operation's duration. */
  observeStore(store: string, operation: string, outcome: 'ok' | 'error', seconds: number): void {
    const id = `${store} ${operation} ${outcome}`;
    let series = this.storeSeries.get(id);
    if (series === undefined) {
      series = this.storeDuration.labels(store, operation, outcome);
      this.storeSeries.set(id, series);
    }
    series.observe(seconds);
  }

  constructor(options: { keyCount?: () => Promise<number> } = {}) {
    collectDefaultMetrics({ register: this.registry });
    const { keyCount } = options;
    if (keyCount) {
      new Gauge({
        name: 'kv_store_keys',
        help: 'Live keys in the store, all accounts together.',
        registers: [this.registry],
        async collect() {
          this.set(await keyCount());
        },
      });
    }
  }
}
