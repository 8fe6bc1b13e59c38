// Request ids, one log line per request, and Prometheus metrics — without a secret or a value in them.

import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { ADMIN_TOKEN, appOn, createTestApp, describeStore, type TestApp } from '../helpers/app';

/** A logger whose JSON lines are kept for the test to read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      raw += chunk;
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines, raw: () => raw };
}

describeStore('observability', () => {
  let t: TestApp;
  let captured: ReturnType<typeof capturingLogger>;
  let app: ReturnType<typeof appOn>;

  beforeAll(async () => {
    t = await createTestApp({ KV_WRITES_PER_SECOND: '2' });
    captured = capturingLogger();
    app = appOn(t.testStore, { config: t.config, logger: captured.logger });
  });
  afterAll(() => t.close());

  it('echoes a valid X-Request-Id and generates one otherwise', async () => {
    const given = await request(app).get('/healthz').set('X-Request-Id', 'client-req.42');
    expect(given.headers['x-request-id']).toBe('client-req.42');
    const generated = await request(app).get('/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await request(app).get('/healthz').set('X-Request-Id', 'has spaces and "quotes"');
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request with id, route template, status and duration, and never a key, token or value', async () => {
    const { apiKey } = await t.newAccount();
    const secretValue = 'very-private-value-7f3a';
    const put = await request(app)
      .put('/kv/items/users%2Falice')
      .set('Authorization', `Bearer ${apiKey}`)
      .set('X-Request-Id', 'put-1')
      .send({ value: { secret: secretValue } });
    expect(put.status).toBe(201);
    await request(app).get('/kv/items/users%2Falice').set('Authorization', `Bearer ${apiKey}`).set('X-Request-Id', 'get-1');
    await request(app).get('/admin/accounts/nope').set('Authorization', `Bearer ${ADMIN_TOKEN}`).set('X-Request-Id', 'admin-1');
    await request(app).get('/kv/usage').set('Authorization', 'Bearer kv_wrong').set('X-Request-Id', 'bad-1');

    const line = (id: string) => captured.lines.filter((l) => l.reqId === id);
    expect(line('put-1')).toEqual([
      expect.objectContaining({ msg: 'request', method: 'PUT', route: '/kv/items/{key}', status: 201, durationMs: expect.any(Number) }),
    ]);
    expect(line('get-1')).toEqual([expect.objectContaining({ route: '/kv/items/{key}', status: 200 })]);
    expect(line('admin-1')).toEqual([expect.objectContaining({ route: '/admin/accounts/{id}', status: 404 })]);
    expect(line('bad-1')).toEqual([expect.objectContaining({ route: '/kv/usage', status: 401 })]);

    const raw = captured.raw();
    expect(raw).not.toContain(apiKey);
    expect(raw).not.toContain(ADMIN_TOKEN);
    expect(raw).not.toContain(secretValue);
    expect(raw).not.toContain('alice');
  });

  it('exposes request, store, conflict and rate-limit metrics by route template, with default process metrics', async () => {
    const { apiKey } = await t.newAccount();
    const auth = `Bearer ${apiKey}`;
    await request(app).put('/kv/items/private-key-name').set('Authorization', auth).send({ value: 1 }).expect(201);
    await request(app).put('/kv/items/private-key-name').set('Authorization', auth).set('If-None-Match', '*').send({ value: 2 });
    let limited = 0;
    for (let i = 0; i < 10 && limited === 0; i++) {
      if ((await request(app).put(`/kv/items/k${i}`).set('Authorization', auth).send({ value: i })).status === 429) limited++;
    }
    expect(limited).toBe(1);

    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toMatch(/kv_http_requests_total\{method="PUT",route="\/kv\/items\/\{key\}",status="201"\} \d+/);
    expect(text).toMatch(/kv_http_request_duration_seconds_bucket\{le="0\.005",method="PUT",route="\/kv\/items\/\{key\}",status="201"\} \d+/);
    expect(text).toMatch(new RegExp(`kv_store_operation_duration_seconds_count\\{store="${t.kind}",operation="setItem",outcome="ok"\\} \\d+`));
    expect(text).toMatch(/kv_write_conflicts_total\{operation="setItem",reason="exists"\} 1/);
    expect(text).toMatch(/kv_rate_limited_total\{limiter="writes"\} 1/);
    expect(text).toMatch(/process_cpu_user_seconds_total \d/);
    expect(text).toMatch(/nodejs_heap_size_used_bytes \d/);
    expect(text).not.toContain('private-key-name');
    expect(text).not.toContain(apiKey);
  });
});
