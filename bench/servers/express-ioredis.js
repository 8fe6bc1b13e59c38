// Baseline: the obvious Express 5 + ioredis key/value service a user could write in an afternoon.
// GET → redis.get → JSON.parse → res.json; PUT → express.json → redis.set; one Bearer key checked.
// No accounts, limits, conditions, metrics or logs: the floor KV's extra guarantees are priced against.
const express = require('express');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL);
const prefix = process.env.BENCH_PREFIX;
const expected = `Bearer ${process.env.BENCH_API_KEY}`;

const app = express();
app.get('/readyz', (_req, res) => {
  res.status(redis.status === 'ready' ? 200 : 503).json({ status: redis.status });
});
app.use((req, res, next) => {
  if (req.headers.authorization !== expected) {
    res.status(401).json({ error: { code: 'unauthorized' } });
    return;
  }
  next();
});
app.get('/kv/items/:key', async (req, res) => {
  const text = await redis.get(`${prefix}:${req.params.key}`);
  if (text === null) {
    res.status(404).json({ error: { code: 'not_found' } });
    return;
  }
  res.json({ data: { key: req.params.key, value: JSON.parse(text) } });
});
app.put('/kv/items/:key', express.json({ limit: '2mb' }), async (req, res) => {
  await redis.set(`${prefix}:${req.params.key}`, JSON.stringify(req.body.value));
  res.json({ data: { key: req.params.key } });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
