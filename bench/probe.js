// Loaded into a measured server with `node --require bench/probe.js`: GC share and V8 heap allocation
// per request over a window the benchmark opens and closes with IPC messages.
//
// GC time: perf_hooks 'gc' entries (every pause, minor and major) summed over the window's wall time.
// Allocation: V8 has no cumulative "bytes allocated" counter in Node 20, but v8.GCProfiler reports the
// heap's used size before and after each collection, so bytes allocated in the window are
//   used(end) − used(start) + Σ (used before GC − used after GC)
// which counts every object, including those the young-generation scavenger frees. Buffer contents
// live outside the V8 heap and are not included. Requests are counted in-process through the
// 'http.server.request.start' diagnostics channel, so the figure is per request the server saw.
//
// Protocol (process.send): { probe: 'start' } opens a window; { probe: 'stop' } closes it and is
// answered with { probe: 'result', gcMs, wallMs, gcShare, gcCount, allocatedBytes, requests,
// allocatedPerRequest }.

'use strict';

const cluster = require('node:cluster');
const diagnostics = require('node:diagnostics_channel');
const { PerformanceObserver, performance } = require('node:perf_hooks');
const v8 = require('node:v8');

function install() {
  let window = null;
  const onRequest = () => {
    window.requests++;
  };
  const observer = new PerformanceObserver((list) => {
    if (!window) return;
    for (const entry of list.getEntries()) {
      window.gcMs += entry.duration;
      window.gcCount++;
    }
  });

  const start = () => {
    if (window) return;
    window = { started: performance.now(), usedAtStart: v8.getHeapStatistics().used_heap_size, profiler: new v8.GCProfiler(), gcMs: 0, gcCount: 0, requests: 0 };
    window.profiler.start();
    observer.observe({ entryTypes: ['gc'] });
    diagnostics.subscribe('http.server.request.start', onRequest);
  };

  const stop = () => {
    if (!window) return null;
    const { statistics } = window.profiler.stop();
    const usedAtEnd = v8.getHeapStatistics().used_heap_size;
    const wallMs = performance.now() - window.started;
    // Entries for GCs that ended just before stop() are delivered asynchronously; take them now.
    for (const entry of observer.takeRecords()) {
      window.gcMs += entry.duration;
      window.gcCount++;
    }
    observer.disconnect();
    diagnostics.unsubscribe('http.server.request.start', onRequest);
    let freed = 0;
    for (const gc of statistics) freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    const allocatedBytes = usedAtEnd - window.usedAtStart + freed;
    const { gcMs, gcCount, requests } = window;
    window = null;
    return {
      probe: 'result',
      gcMs,
      wallMs,
      gcShare: gcMs / wallMs,
      gcCount,
      allocatedBytes,
      requests,
      allocatedPerRequest: requests ? allocatedBytes / requests : null,
    };
  };

  process.on('message', (message) => {
    if (message?.probe === 'start') {
      start();
      process.send({ probe: 'started' });
    } else if (message?.probe === 'stop') {
      process.send(stop() ?? { probe: 'result', error: 'no window open' });
    }
  });
  // The channel must not keep the server alive once it has been told to stop.
  process.channel.unref();
}

// Only a process the benchmark started with an IPC channel; never a cluster worker (KV_WORKERS).
if (process.send && !cluster.isWorker) install();
