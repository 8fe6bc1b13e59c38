// Micro-benchmark: the service's JSON scanner against JSON.parse on the same 1 MiB texts, in this
// process (no HTTP): what a 1 MiB PUT pays to check and compact its value, in MB/s.

'use strict';

const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const MIB = 1024 * 1024;

/** Two 1 MiB PUT bodies: one long string, and a structured document of many small members. */
function texts() {
  const blob = JSON.stringify({ value: { blob: 'b'.repeat(MIB - 22) } });
  const items = [];
  let size = 0;
  for (let i = 0; size < MIB - 200; i++) {
    const item = { id: i, name: `item ${i}`, price: 12.5 + i, tags: ['a', 'bc', 'def'], nested: { ok: i % 2 === 0, at: null } };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  const structured = JSON.stringify({ value: { items } });
  return { '1 MiB string blob': blob, '1 MiB structured document': structured };
}

/** MB/s of `fn` over `text`, best of a few timed batches of at least 300 ms each. */
function throughput(text, fn) {
  for (let i = 0; i < 5; i++) fn(text); // warm up: let the JIT settle
  let best = 0;
  for (let batch = 0; batch < 5; batch++) {
    const started = process.hrtime.bigint();
    let runs = 0;
    let elapsed = 0;
    do {
      fn(text);
      runs++;
      elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    } while (elapsed < 0.3);
    best = Math.max(best, (Buffer.byteLength(text) * runs) / elapsed / 1e6);
  }
  return best;
}

/**
 * compactJson (the value's compact text, as stored) and scanJson + compactJson (all a PUT runs
 * over its body) against JSON.parse. Signatures as in src/http/json-text.ts; a function that is
 * missing or changed shape is reported rather than guessed at.
 */
function jsonMicroBenchmark() {
  const scanner = require(path.join(ROOT, 'dist', 'http', 'json-text.js'));
  const rows = [];
  for (const [name, text] of Object.entries(texts())) {
    const parse = throughput(text, (t) => JSON.parse(t));
    const row = { text: name, bytes: Buffer.byteLength(text), jsonParseMBps: parse };
    const value = JSON.parse(text).value;
    const start = text.indexOf(':') + 1; // the value member of {"value":…}
    const end = text.length - 1;
    try {
      if (scanner.compactJson(text, start, end) !== JSON.stringify(value)) throw new Error('compactJson did not return the compact value');
      row.compactMBps = throughput(text, (t) => scanner.compactJson(t, start, end));
      row.compactRatio = row.compactMBps / parse;
    } catch (error) {
      row.compactError = error.message;
    }
    try {
      const scan = scanner.scanJson(text, 64);
      if (!scan.ok) throw new Error(`scanJson refused the text (${scan.reason})`);
      row.scanAndCompactMBps = throughput(text, (t) => {
        const [s, e] = scanner.scanJson(t, 64).members.get('value');
        return scanner.compactJson(t, s, e);
      });
      row.scanAndCompactRatio = row.scanAndCompactMBps / parse;
    } catch (error) {
      row.scanAndCompactError = error.message;
    }
    rows.push(row);
  }
  return rows;
}

module.exports = { jsonMicroBenchmark };
