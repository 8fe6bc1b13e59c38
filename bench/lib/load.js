// The load generators: wrk (preferred: a C client takes less CPU from the server on a 2-core machine)
// or autocannon, behind one call that takes a request spec and returns the same summary shape.
//
// A spec: { method, path, headers, body, expect, mode } where mode is 'static' (the same request),
// 'unique' (path is a prefix; a new key per request) or 'cas' (path is a prefix; each key written
// with If-Match = the ETag of its previous write); `big: true` skips reading response bodies.

'use strict';

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const autocannon = require('autocannon');
const { onPath } = require('./processes');

const WRK_SCRIPT = path.join(__dirname, '..', 'wrk', 'request.lua');

let runs = 0;
/** In 'unique' and 'cas' modes the keys of each run start with a prefix no earlier run used. */
const runPrefix = (spec) => (spec.mode === 'unique' || spec.mode === 'cas' ? `${spec.path}${process.pid}r${++runs}-` : spec.path);

/**
 * One wrk thread: the fastest target (node-hello) reaches the same rate with one thread as with two,
 * so a second thread would only compete with the server and Redis for the two cores.
 */
const WRK_THREADS = 1;

function runWrk(wrk, url, spec, { connections, duration, tmpDir }) {
  let bodyFile = '-';
  if (spec.body !== undefined) {
    bodyFile = path.join(tmpDir, `body-${process.hrtime.bigint()}`);
    fs.writeFileSync(bodyFile, spec.body);
  }
  const mode = spec.big ? 'nocheck' : spec.mode || 'static';
  const headers = Object.entries(spec.headers || {}).map(([name, value]) => `${name}: ${value}`);
  const args = ['-t', String(WRK_THREADS), '-c', String(connections), '-d', `${duration}s`, '--timeout', '10s', '-s', WRK_SCRIPT, url, '--',
    spec.method, runPrefix(spec), String(spec.expect ?? 200), mode, bodyFile, String(Math.ceil(connections / WRK_THREADS)), ...headers];
  return new Promise((resolve, reject) => {
    execFile(wrk, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (bodyFile !== '-') fs.rmSync(bodyFile, { force: true });
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (error || !line) {
        reject(new Error(`wrk failed: ${error?.message ?? 'no result line'}\n${stderr}${stdout}`));
        return;
      }
      const result = JSON.parse(line.slice('WRK_JSON '.length));
      const seconds = result.durationUs / 1e6;
      resolve({
        rps: result.requests / seconds,
        requests: result.requests,
        p50: result.latencyMs.p50,
        p99: result.latencyMs.p99,
        p999: result.latencyMs.p999,
        unexpected: result.unexpected,
        errors: result.errors,
        bytesPerResponse: result.requests ? result.bytes / result.requests : 0,
      });
    });
  });
}

/** autocannon options for a spec: per-request keys and CAS chains live in autocannon's per-connection context. */
function autocannonRequest(spec) {
  const base = { method: spec.method, headers: spec.headers, body: spec.body };
  const prefix = runPrefix(spec);
  if (spec.mode === 'unique') {
    let n = 0;
    return { ...base, setupRequest: (req) => ({ ...req, path: `${prefix}${n++}` }) };
  }
  if (spec.mode === 'cas') {
    let connection = 0;
    return {
      ...base,
      setupRequest: (req, context) => {
        if (context.key === undefined) context.key = `${prefix}c${connection++}`;
        const headers = { ...req.headers };
        if (context.etag) headers['If-Match'] = context.etag;
        else headers['If-None-Match'] = '*';
        return { ...req, path: context.key, headers };
      },
      onResponse: (status, _body, context, headers) => {
        const etag = headers && (headers.etag || headers.ETag);
        context.etag = status < 300 && etag ? etag : undefined;
        // A failed write starts that connection over on a fresh key (counted as unexpected).
        if (!context.etag) context.key = undefined;
      },
    };
  }
  return { ...base, path: spec.path };
}

/**
 * Runs autocannon. `amount` (a request count) and `overallRate` (a fixed rate) are autocannon-only:
 * wrk can neither stop after N requests nor hold a rate.
 */
function runAutocannon(url, spec, { connections, duration, amount, overallRate }) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        ...(amount === undefined ? { duration } : { amount }),
        ...(overallRate === undefined ? {} : { overallRate }),
        timeout: 10,
        requests: [autocannonRequest(spec)],
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const expected = spec.expect ?? 200;
        const count = (status) => result.statusCodeStats?.[status]?.count ?? 0;
        // A CAS chain's first write creates its key (If-None-Match: *): 201.
        const good = count(expected) + (spec.mode === 'cas' && expected !== 201 ? count(201) : 0);
        resolve({
          rps: result.requests.total / (result.duration || duration),
          requests: result.requests.total,
          p50: result.latency.p50,
          p99: result.latency.p99,
          p999: result.latency.p99_9 ?? result.latency['p99.9'],
          unexpected: result.requests.total - good + result.errors + result.timeouts,
          errors: { status: result.non2xx, socket: result.errors, timeout: result.timeouts },
          bytesPerResponse: result.requests.total ? result.throughput.total / result.requests.total : 0,
        });
      },
    );
    instance.on('error', reject);
  });
}

/** The throughput client for the whole run: wrk where on PATH, autocannon otherwise. */
function throughputClient() {
  const wrk = onPath('wrk');
  if (wrk) return { name: `wrk (${WRK_THREADS} thread)`, run: (url, spec, options) => runWrk(wrk, url, spec, options) };
  return { name: 'autocannon', run: runAutocannon };
}

module.exports = { throughputClient, runAutocannon };
