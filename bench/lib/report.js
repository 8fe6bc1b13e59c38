// The report: the targets of issues 12, 13 and 14 with ✓/✗, then every table, as markdown; and the SVG chart.

'use strict';

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
const ms = (n) => fmt(n, n < 10 ? 2 : 1);
const mark = (ok) => (ok === null ? 'n/a' : ok ? '✓' : '✗');

const row = (rows, target, workload) => rows.find((r) => r.target === target && r.workload === workload);

/** The workloads issue 12 set its targets on (issue 13's routes came later). */
const ISSUE_12_WORKLOADS = ['GET hit (250 B)', 'GET revalidate (304)', 'GET miss (404)', 'PUT replace', 'PUT create, TTL', 'CAS (If-Match)', 'list 100 keys', 'GET 1 MiB', 'PUT 1 MiB'];

const MB = 1e6;

/** Issues 12, 13 and 14's targets, each { target, measured, ok } (ok null when a figure is missing). */
function checkTargets({ rows, fixedRate, json, transfer = [], watch = [] }) {
  const checks = [];
  const ratio = (target, workload, against, min, label) => {
    const r = row(rows, target, workload);
    const base = row(rows, against.target, against.workload);
    const value = r && base ? r.rps / base.rps : null;
    checks.push({ target: `${target} ${workload} ≥ ${min.toFixed(2)}× ${label}`, measured: value === null ? 'missing' : `${value.toFixed(2)}×`, ok: value === null ? null : value >= min });
  };
  const hello = { target: 'express-hello', workload: 'hello' };
  for (const store of ['kv-redis', 'kv-sqlite']) {
    ratio(store, 'GET hit (250 B)', hello, 0.85, 'express-hello');
    ratio(store, 'GET hit (250 B)', { target: 'express-ioredis', workload: 'GET hit (250 B)' }, 1.0, 'the obvious service');
    ratio(store, 'PUT replace', hello, 0.75, 'express-hello');
    ratio(store, 'CAS (If-Match)', hello, 0.7, 'express-hello');
    ratio(store, 'list 100 keys', hello, 0.5, 'express-hello');
    ratio(store, 'GET 1 MiB', { target: 'node-1mib', workload: 'GET 1 MiB' }, 0.25, 'node-1mib');
  }
  for (const r of rows.filter((x) => x.target === 'kv-sqlite' && ISSUE_12_WORKLOADS.includes(x.workload))) {
    const redis = row(rows, 'kv-redis', r.workload);
    if (!redis) continue;
    const value = r.rps / redis.rps;
    checks.push({ target: `embedded within 10 % of Redis: ${r.workload}`, measured: `${value.toFixed(2)}×`, ok: value >= 0.9 });
  }
  for (const workload of ['GET hit (250 B)', 'PUT replace']) {
    const calls = row(rows, 'kv-redis', workload)?.redisCallsPerRequest;
    // The request's own calls: the rate-limit synchronisation is periodic and reported apart.
    checks.push({ target: `1 Redis call per request on the request path: kv-redis ${workload}`, measured: calls === undefined ? 'missing' : calls.toFixed(2), ok: calls === undefined ? null : calls <= 1.05 });
  }
  for (const j of json) {
    checks.push({ target: `compactJson ≥ 0.5× JSON.parse (${j.text})`, measured: j.compactRatio === undefined ? j.compactError : `${j.compactRatio.toFixed(2)}×`, ok: j.compactRatio === undefined ? null : j.compactRatio >= 0.5 });
    checks.push({
      target: `scanJson + compactJson ≥ 0.5× JSON.parse (${j.text})`,
      measured: j.scanAndCompactRatio === undefined ? j.scanAndCompactError : `${j.scanAndCompactRatio.toFixed(2)}×`,
      ok: j.scanAndCompactRatio === undefined ? null : j.scanAndCompactRatio >= 0.5,
    });
  }
  const helloP99 = fixedRate.find((f) => f.target === 'express-hello')?.p99;
  for (const f of fixedRate.filter((x) => x.target.startsWith('kv-'))) {
    const value = helloP99 ? f.p99 / helloP99 : null;
    checks.push({ target: `${f.target} p99 at 1,000 req/s ≤ 2× express-hello's`, measured: `${f.p99} ms vs ${helloP99} ms`, ok: value === null ? null : value <= 2 });
  }
  // Issue 13: export and import against their one-request-per-key alternatives.
  for (const store of ['kv-redis', 'kv-sqlite']) {
    const found = transfer.find((x) => x.target === store);
    const t = found && !found.error ? found : undefined;
    const missing = found?.error ? 'failed (below)' : 'missing';
    const whole = t && t.anomalies.length === 0;
    const at = t ? ` (${t.keys} keys)` : '';
    checks.push({
      target: `${store} export ≥ 10× list + GET per key${at}`,
      measured: t ? `${t.exportSpeedup.toFixed(1)}×${whole ? '' : ' (anomalies, below)'}` : missing,
      ok: t ? whole && t.exportSpeedup >= 10 : null,
    });
    checks.push({
      target: `${store} server RSS growth during export < 50 MB${at}`,
      measured: t ? `${(t.rss.growth / MB).toFixed(1)} MB` : missing,
      ok: t ? t.rss.growth < 50 * MB : null,
    });
    checks.push({
      target: `${store} import ≥ 5× PUT per key${at}`,
      measured: t ? `${t.importSpeedup.toFixed(1)}×${whole ? '' : ' (anomalies, below)'}` : missing,
      ok: t ? whole && t.importSpeedup >= 5 : null,
    });
  }
  // Issue 14: what the change log costs a write (same run, interleaved rounds), and watch fan-out.
  for (const store of ['kv-redis', 'kv-sqlite']) {
    for (const workload of ['PUT replace', 'PUT create, TTL']) ratio(store, workload, { target: `${store}-nolog`, workload }, 0.85, `${store}-nolog (KV_CHANGE_LOG=off)`);
  }
  for (const store of ['kv-redis', 'kv-sqlite']) {
    const w = watch.find((x) => x.target === store);
    const ran = w && !w.error && w.p99 !== null;
    const whole = ran && w.missed === 0 && w.open === w.watchers;
    checks.push({
      target: `${store} watch: p99 delivery ≤ 200 ms to ${w?.watchers ?? 1000} streams on one replica`,
      measured: ran ? `${w.p99.toFixed(1)} ms${whole ? '' : ` (${w.open} open, ${w.missed} missed)`}` : w?.error ? 'failed (below)' : 'missing',
      ok: ran ? whole && w.p99 <= 200 : null,
    });
  }
  return checks;
}

const bytes = (n) => (n === null || n === undefined ? '' : `${fmt(n)} B`);

/** The watch and change log section. */
function watchSection({ rows, watch = [], logMemory, meta }, table) {
  const out = [];
  const pair = (store, workload) => {
    const on = row(rows, store, workload);
    const off = row(rows, `${store}-nolog`, workload);
    return [store, workload, on ? fmt(on.rps) : '', off ? fmt(off.rps) : '', on && off ? fmt(on.rps / off.rps, 2) : '', on ? ms(on.p99) : '', off ? ms(off.p99) : ''];
  };
  out.push(
    table(['store', 'workload', 'req/s, log on', 'req/s, log off', 'on / off', 'p99 ms on', 'p99 ms off'], ['kv-redis', 'kv-sqlite'].flatMap((store) => ['PUT replace', 'PUT create, TTL'].map((w) => pair(store, w)))),
    '',
    'Log off: targets kv-redis-nolog and kv-sqlite-nolog, the same settings plus KV_CHANGE_LOG=off (own Redis prefix / data directory), running only these two workloads in the same interleaved rounds, each run right after the same workload on its log-on counterpart (medians over rounds). On a loaded 2-core machine short runs are noisy: read the ratio over several rounds.',
    '',
  );
  const ran = watch.filter((w) => !w.error);
  for (const w of watch.filter((x) => x.error)) {
    out.push(`- ${w.target}: the watch run failed${w.open === undefined ? '' : ` (${w.open} of ${w.watchers} streams had opened)`}: ${w.error}`);
    for (const a of w.anomalies || []) out.push(`  - ${a}`);
    out.push('');
  }
  if (ran.length) {
    const limit = (l) => (l ? l.soft : '?');
    out.push(
      table(
        ['store', 'streams open (s to open)', 'deliveries (of expected)', 'p50 ms', 'p99 ms', 'max ms', 'missed (streams)', 'last stream, median over changes, ms', 'PUT ms (median)', 'server RSS before → with streams', 'fds client / server with streams (limits)'],
        ran.map((w) => [
          w.target,
          `${w.open} of ${w.watchers} (${fmt(w.openSeconds, 2)})`,
          `${w.deliveries} (${w.expected})`,
          ms(w.p50),
          `**${ms(w.p99)}**`,
          ms(w.max),
          `${w.missed} (${w.missedStreams})`,
          ms(w.lastMedian),
          ms(w.putMsMedian),
          w.rss.before && w.rss.open ? `${fmt(w.rss.before / 1e6, 1)} → ${fmt(w.rss.open / 1e6, 1)} MB` : '',
          `${w.fds.clientOpen ?? '?'} / ${w.fds.serverOpen ?? '?'} (${limit(w.fds.clientLimit)} / ${limit(w.fds.serverLimit)})`,
        ]),
      ),
      '',
      `A fresh account per store (POST /admin/accounts) and one GET /kv/usage with its key (so the server has checked it before the burst), ${ran[0].watchers} \`GET /kv/watch\` streams on it to one KV process (KV_WATCHERS_PER_ACCOUNT raised to allow it), ` +
        'each on its own socket (node:http keep-alive agent, maxSockets above the stream count), opened 100 at a time. Once every stream has its headers, one unmeasured change ' +
        `(a PUT whose event every stream must receive, so all are following the log: reached ${ran.map((w) => `${w.target} ${w.warmupReached}`).join(', ')}), ` +
        `then ${ran[0].changes} PUTs of one key (~250 B), one after the other, each once the previous one reached every stream (or 5 s passed) plus 50 ms. ` +
        'Latency: from just before the PUT is sent to the arrival of that stream\'s `event: set` of the version written (the SSE parsed as it arrives), over every change × stream; ' +
        'a delivery not there within 5 s counts as missed. The streams are read by this bench process, on the same 2 cores as the server and Redis, so its own parsing of 1,000 streams is in the figures. ' +
        `Open files: soft limit ${meta.fdLimit ?? '?'} for the bench (ulimit -n), the servers inherit it.`,
      '',
    );
    const anomalies = ran.flatMap((w) => w.anomalies.map((a) => `- ${w.target}: ${a}`));
    if (anomalies.length) out.push('Watch anomalies:', '', ...anomalies, '');
  }
  if (logMemory && !logMemory.error) {
    const m = logMemory;
    const idleRows = (label, idle) => [label, idle.keys.map((k) => `${k.key} (${k.type}) ${k.bytes}`).join(', '), `**${bytes(idle.bytes)}**`];
    out.push(
      `Redis memory of the change log, written through the store (dist/, RedisStore.setItem): ${m.changes} PUTs of ${m.valueBytes}-byte values over ${m.keyCount} keys into one account. ` +
        `Its log stream holds **${m.log.entries}** entries (XLEN; the store trims it to about the last 10,000) in ${bytes(m.log.bytes)} (MEMORY USAGE … SAMPLES 0): ` +
        `**${fmt(m.log.bytesPerEntry, 1)} bytes per retained change**. PTTL of the log: ${m.log.pttl} ms.`,
      '',
      table(['idle account (one write)', 'its keys (MEMORY USAGE, bytes)', 'total'], [idleRows('change log on', m.idleWithLog), idleRows('change log off (changeLog: false)', m.idleWithoutLog)]),
      '',
      `Difference: ${bytes(m.idleWithLog.bytes - m.idleWithoutLog.bytes)} per idle account with the log (a one-entry stream: nearly all of it is the stream's fixed size, not the entry). The idle account's log has a PTTL of ${m.idleWithLog.logPttl} ms: ` +
        'it expires an hour after the account\'s last change, so an account idle for an hour carries no log. Keys found with SCAN MATCH `<prefix>:{<account>}:*` (the admin records, under `{admin}`, are not counted).',
      '',
    );
  } else if (logMemory?.error) out.push(`Change log memory: failed: ${logMemory.error}`, '');
  return out;
}

/** The export / import section: figures per store, then what looked wrong, if anything. */
function transferSection(transfer, table) {
  if (!transfer?.length) return ['Not run.', ''];
  const s = (n) => fmt(n, n < 10 ? 2 : 1);
  const rate = (n, seconds) => fmt(n / seconds);
  const failed = transfer.filter((t) => t.error);
  const anomalies = [...failed.map((t) => `- ${t.target}: the comparison failed: ${t.error}`), ...transfer.filter((t) => !t.error).flatMap((t) => t.anomalies.map((a) => `- ${t.target}: ${a}`))];
  const ran = transfer.filter((t) => !t.error);
  if (!ran.length) return [...anomalies, ''];
  return [
    table(
      ['store', 'seed s', '(a) export s (lines, MB)', '(b) list + GET s (pages)', '× (b / a)', '(c) RSS before → max, growth', '(d) import s (created, replaced, skipped, failed)', '(e) PUT per key s', '× (e / d)'],
      ran.map((t) => [
        t.target,
        s(t.seedSeconds),
        `${s(t.export.seconds)} (${t.export.lines}, ${fmt(t.export.bytes / MB, 1)}); ${rate(t.export.lines, t.export.seconds)} items/s`,
        `${s(t.listGet.seconds)} (${t.listGet.pages}); ${rate(t.listGet.items, t.listGet.seconds)} items/s`,
        `**${fmt(t.exportSpeedup, 1)}**`,
        `${fmt(t.rss.before / MB, 1)} → ${fmt(t.rss.max / MB, 1)} MB, **+${fmt(t.rss.growth / MB, 1)} MB**`,
        t.import.result
          ? `${s(t.import.seconds)} (${t.import.result.created}, ${t.import.result.replaced}, ${t.import.result.skipped}, ${t.import.result.failed}); ${rate(t.keys, t.import.seconds)} items/s`
          : `HTTP ${t.import.status}`,
        `${s(t.putPerKey.seconds)} (${t.putPerKey.created} × 201); ${rate(t.putPerKey.requests, t.putPerKey.seconds)} items/s`,
        `**${fmt(t.importSpeedup, 1)}**`,
      ]),
    ),
    '',
    `Each store gets three fresh accounts (POST /admin/accounts): one seeded with N keys of ~250 B (commits of 100 set ops, 4 in flight), ` +
      `one for (d) and one for (e). The client is Node (node:http, a keep-alive agent of ${ran[0].concurrency} sockets), not wrk, in this process on the same cores. ` +
      `(a) GET /kv/export of the seeded account, streamed, lines and bytes counted; (b) GET /kv/items?limit=1000 page by page, each page's keys fetched with one GET each, ` +
      `${ran[0].concurrency} in flight (the next page is read meanwhile); (c) the server's VmRSS (/proc/<pid>/status) every ${ran[0].rss.everyMs} ms during (a), ` +
      `max − the value just before (MB = 10⁶ bytes); (d) POST /kv/import?mode=overwrite of (a)'s NDJSON in one request; (e) one PUT per key of the same items, ` +
      `${ran[0].concurrency} in flight, bodies built before the clock starts. Times are wall clock. ` +
      `Key counts after (GET /kv/usage): ${ran.map((t) => `${t.target} seeded ${t.seeded}, imported ${t.import.keysAfter}, PUT ${t.putPerKey.keysAfter}`).join('; ')}.`,
    '',
    ...(anomalies.length ? ['Anomalies (failures, unexpected statuses or counts; at most 20 per store):', '', ...anomalies, ''] : ['No anomalies: every export line, GET, import line and PUT came back as expected.', '']),
  ];
}

/** One line per row with unexpected responses: which kinds (e.g. status > 399 vs timeouts). */
function unexpectedBreakdown(rows) {
  const lines = rows
    .filter((r) => r.unexpected > 0)
    .map((r) => `- ${r.target} ${r.workload}: ${Object.entries(r.errors || {}).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'other statuses only'}`);
  return lines.length ? ['Unexpected responses by kind (all rounds):', '', ...lines, ''] : [];
}

function markdown(result) {
  const { meta, rows, fixedRate, probes, monitor, json, memory, peers, targets, transfer } = result;
  const table = (head, lines) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
  const hello = row(rows, 'express-hello', 'hello').rps;
  const throughput = table(
    ['target', 'workload', 'req/s (median, min–max)', '× express-hello', '× obvious', 'p50 ms', 'p99 ms', 'p99.9 ms', 'unexpected'],
    rows.map((r) => {
      const obvious = row(rows, 'express-ioredis', r.workload);
      return [r.target, r.workload, `${fmt(r.rps)} (${fmt(r.rpsMin)}–${fmt(r.rpsMax)})`, fmt(r.rps / hello, 2), obvious ? fmt(r.rps / obvious.rps, 2) : '', ms(r.p50), ms(r.p99), ms(r.p999), String(r.unexpected)];
    }),
  );
  const lines = [
    `# KV benchmark — ${meta.date}`,
    '',
    `Machine: ${meta.cores} × ${meta.cpu}, ${meta.memoryGiB} GiB, Node ${meta.node}; every server, Redis and the client share the cores. ` +
      `Throughput client: ${meta.client}, ${meta.connections} connections, ${meta.duration} s per run, ${meta.rounds} interleaved rounds; the run took ${meta.seconds} s. ` +
      `Load average at the start: ${meta.loadAverage}.`,
    '',
    '## Targets (issues 12, 13 and 14)',
    '',
    table(['target', 'measured', ''], targets.map((t) => [t.target, t.measured, mark(t.ok)])),
    '',
    '## Throughput',
    '',
    throughput,
    '',
    'Latency percentiles are medians over rounds. unexpected: responses with another status than the workload expects, plus socket errors and timeouts, ' +
      'over all rounds (1 MiB runs do not read bodies, so there only statuses above 399 count). ' +
      `× obvious: against the obvious Express 5 + ioredis service (bench/servers/express-ioredis.js) on the same workload.`,
    '',
    ...unexpectedBreakdown(rows),
    `2 workers vs 1 (GET hit, Redis): ${fmt(row(rows, 'kv-redis-2w', 'GET hit (250 B)')?.rps / row(rows, 'kv-redis', 'GET hit (250 B)')?.rps, 2)}×`,
    '',
    `## Export and import (${meta.exportKeys} keys)`,
    '',
    ...transferSection(transfer, table),
    `## Watch and change log`,
    '',
    ...watchSection(result, table),
    '## GC and allocation per request',
    '',
    table(
      ['target', 'workload', 'requests', 'GC % of wall time', 'GC pauses', 'V8 heap allocated / request'],
      probes.map((p) => [p.target, p.workload, String(p.requests), fmt(p.gcShare * 100, 1), String(p.gcCount), p.allocatedPerRequest === null ? '' : `${fmt(p.allocatedPerRequest / 1024, 1)} KiB`]),
    ),
    '',
    `Measured in the server (bench/probe.js: perf_hooks 'gc' entries; v8.GCProfiler heap sizes before and after every GC) over round ${meta.rounds}'s run of each workload. ` +
      'Buffer contents live outside the V8 heap and are not in the allocation figure.',
    '',
    '## Redis calls per request',
    '',
    table(
      ['target', 'workload', 'calls sent / request', 'of them on the request path', 'rate-limit syncs / s (at req/s)', 'commands run / request (Lua included)'],
      monitor.map((m) => [m.target, m.workload, fmt(m.sent, 2), fmt(m.requestPath, 2), `${fmt(m.syncPerSecond, 1)} (${fmt(m.requestsPerSecond)})`, fmt(m.run, 2)]),
    ),
    '',
    `MONITOR over a separate pass of ${meta.monitorRequests} requests per workload (MONITOR slows Redis, so never during timed runs), on the bench's own Redis database (${meta.redisDb}). ` +
      'A rate-limit sync (EVALSHA addRateLimitHits on a `…:rl:…` counter) is sent once per limiter and account every KV_RATE_LIMIT_SYNC_MS (50 ms) while it has hits, whatever the request rate: per request it is that rate divided by the request rate, so it is reported per second rather than per request.',
    '',
    '## Fixed rate (1,000 req/s GET hit, autocannon, 10 connections, 10 s)',
    '',
    table(['target', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'unexpected'], fixedRate.map((f) => [f.target, fmt(f.rps), String(f.p50), String(f.p99), String(f.p999), String(f.unexpected)])),
    '',
    'wrk cannot hold a rate, so this table uses autocannon `overallRate` for all four; autocannon reports whole milliseconds.',
    '',
    '## Peers',
    '',
    peers.length
      ? table(
          ['peer', 'workload', 'req/s', '× express-hello', '× KV on Redis', 'p99 ms'],
          peers.map((p) => {
            const kv = row(rows, 'kv-redis', p.workload);
            return [p.target, p.workload, fmt(p.rps), fmt(p.rps / hello, 2), kv ? fmt(p.rps / kv.rps, 2) : '', ms(p.p99)];
          }),
        )
      : 'Neither etcd nor webdis is on PATH.',
    '',
    'etcd: v3 JSON gateway (POST /v3/kv/range, linearizable; POST /v3/kv/put), one member on loopback, default durability. webdis: GET /GET/<key> against the same Redis (it JSON-escapes the value).',
    '',
    '## JSON scanner vs JSON.parse (1 MiB PUT bodies, in-process)',
    '',
    table(
      ['text', 'JSON.parse MB/s', 'compactJson MB/s', '×', 'scanJson + compactJson MB/s', '×'],
      json.map((j) => [j.text, fmt(j.jsonParseMBps), fmt(j.compactMBps) || j.compactError, fmt(j.compactRatio, 2), fmt(j.scanAndCompactMBps) || j.scanAndCompactError, fmt(j.scanAndCompactRatio, 2)]),
    ),
    '',
    'scanJson + compactJson is all a PUT runs over its body (check, then the value as stored); compactJson alone is the compaction.',
    '',
    '## Redis memory per key',
    '',
    `${memory.keys} keys of ${memory.valueBytes}-byte values: ${fmt(memory.bytesPerKey)} bytes per key by used_memory, ` +
      `${fmt(memory.memoryUsagePerKey)} by MEMORY USAGE of the store's keys (${fmt(memory.memoryUsagePerKey - memory.valueBytes)} beyond the value). ` +
      'used_memory is server-wide, so other clients of the same Redis move it; MEMORY USAGE counts only this run\'s keys, without the keyspace dictionary.',
    '',
  ];
  return lines.join('\n');
}

function svgChart(rows, baseline) {
  const width = 900;
  const barHeight = 14;
  const labelWidth = 330;
  const max = Math.max(...rows.map((r) => r.rps), 1);
  const scale = (width - labelWidth - 90) / max;
  const colors = { 'node-hello': '#888', 'express-hello': '#555', 'express-ioredis': '#a60', 'kv-sqlite': '#2a7', 'kv-redis': '#c33', 'kv-redis-2w': '#36c', 'kv-redis-nolog': '#e88', 'kv-sqlite-nolog': '#7c9', etcd: '#7a4', webdis: '#a4a' };
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * (barHeight + 4);
      const w = Math.max(1, r.rps * scale);
      return (
        `<text x="${labelWidth - 6}" y="${y + 11}" text-anchor="end" font-size="11">${r.target} · ${r.workload}</text>` +
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colors[r.target] || '#999'}"/>` +
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 11}" font-size="11">${Math.round(r.rps)}</text>`
      );
    })
    .join('\n');
  const height = 40 + rows.length * (barHeight + 4);
  const line = labelWidth + baseline * scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="13" font-weight="bold">Throughput by workload, req/s (median of rounds); line = express-hello</text>
${bars}
<line x1="${line.toFixed(1)}" y1="24" x2="${line.toFixed(1)}" y2="${height - 4}" stroke="#000" stroke-dasharray="4 3"/>
</svg>
`;
}

module.exports = { checkTargets, markdown, svgChart };
