// The OpenAPI document: committed as generated, lint-clean, and route for route the same as the router.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { openApiDocument } from '../../src/http/openapi';
import { errorHandler } from '../../src/http/error-handler';
import { DOCS_CSP, openApiRoutes } from '../../src/http/openapi-routes';
import { routeTemplate } from '../../src/http/observability';
import { ROUTES, bindRoutes, type Method } from '../../src/http/routes';
import { ADMIN_TOKEN, appOn, testConfig } from '../helpers/app';
import { contractChecker } from '../helpers/openapi-contract';
import { createTestStore, type TestStore } from '../helpers/stores';

const ROOT = path.join(__dirname, '..', '..');
const COMMITTED = path.join(ROOT, 'docs', 'openapi.json');

/** A concrete path for a template: real-looking ids, a key with a slash. */
function samplePath(template: string): string {
  return template
    .replace('{key}', 'probe/one')
    .replace('{id}', 'acc_00000000000000000000')
    .replace('{keyId}', 'key_00000000000000000000')
    .replace('{file}', 'swagger-ui.css');
}

describe('the OpenAPI document', () => {
  it('is committed in docs/openapi.json exactly as the code generates it with the default configuration', () => {
    const generated = `${JSON.stringify(openApiDocument(loadConfig({})), null, 2)}\n`;
    const committed = readFileSync(COMMITTED, 'utf8');
    // On failure: npm run build && node scripts/openapi.js, and commit docs/openapi.json.
    expect(committed).toBe(generated);
  });

  it('passes redocly lint (recommended rules) with no errors and no warnings, offline', () => {
    const lint = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'redocly'), ['lint', 'docs/openapi.json', '--format=json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    expect({ status: lint.status, error: lint.error }).toEqual({ status: 0, error: undefined });
    const report = JSON.parse(lint.stdout) as { totals: { errors: number; warnings: number } };
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('describes each request body and query with the schema that validates it', () => {
    const doc = openApiDocument(loadConfig({}));
    const put = doc.paths['/kv/items/{key}'].put as { requestBody: { content: Record<string, { schema: unknown }> } };
    expect(put.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/putItemBody' });
    const list = doc.paths['/kv/items'].get as { parameters: { name: string; schema: unknown }[] };
    expect(list.parameters.map((parameter) => parameter.name)).toEqual(['prefix', 'limit', 'cursor', 'values']);
    expect(list.parameters[1].schema).toEqual({ type: 'integer', minimum: 1, maximum: 1000 });
  });

  it('follows the configuration in its bounds', () => {
    const doc = openApiDocument({ ...loadConfig({}), maxTtlSeconds: 60 });
    const putItemBody = doc.components.schemas.putItemBody as { properties: Record<string, unknown> };
    expect(putItemBody.properties.ttlSeconds).toEqual({ type: 'integer', minimum: 1, maximum: 60 });
  });

  it('refuses at start-up to bind a handler for an operation the table lacks, or below the wrong mount point', () => {
    expect(() => bindRoutes(express.Router(), '/kv')('getItems', (_req, res) => res.end())).toThrow('no route getItems in the route table');
    expect(() => bindRoutes(express.Router(), '/admin')('getItem', (_req, res) => res.end())).toThrow(/not below the router's mount point/);
  });

  it('gives every route template to the metrics route label', () => {
    for (const route of ROUTES) expect(routeTemplate(samplePath(route.path))).toBe(route.path);
    expect(routeTemplate('/kv/items/a/b/c')).toBe('/kv/items/{key}');
    expect(routeTemplate('/admin/accounts/acc_1/keys')).toBe('/admin/accounts/{id}/keys');
    expect(routeTemplate('/docs/assets/a/b')).toBe('other');
  });
});

describe('the routes against the document', () => {
  let testStore: TestStore;
  let app: express.Express;
  let apiKey: string;
  const check = contractChecker();

  beforeAll(async () => {
    testStore = await createTestStore('sqlite');
    const config = testConfig(testStore);
    app = express();
    // As app.ts mounts it: the documentation routes first, without authentication.
    openApiRoutes(app.router, config);
    app.use(appOn(testStore, { config }));
    app.use(errorHandler(pino({ level: 'silent' })));
    const res = await request(app).post('/admin/accounts').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({});
    apiKey = res.body.data.apiKey.key;
  });
  afterAll(() => testStore.destroy());

  const credentials = (template: string) =>
    template.startsWith('/kv/') ? `Bearer ${apiKey}` : template.startsWith('/admin/') ? `Bearer ${ADMIN_TOKEN}` : 'Bearer none';

  const send = (method: Exclude<Method, 'head'> | 'head', template: string) =>
    request(app)[method](samplePath(template)).set('Authorization', credentials(template));

  it.each(ROUTES.map((route) => [route.method.toUpperCase(), route.path, route] as const))(
    'answers %s %s as a route, as documented',
    async (_method, _path, route) => {
      // A stream does not end: asked with a cursor it never sent, it answers at once (400) instead.
      const res =
        route.responses[200]?.body === 'eventStream'
          ? await request(app).get(`${samplePath(route.path)}?since=not-a-cursor`).set('Authorization', credentials(route.path))
          : await send(route.method, route.path);
      expect(res.body?.error?.message).not.toBe('No such route.');
      expect(check({ method: route.method.toUpperCase(), path: samplePath(route.path), status: res.status, headers: res.headers, text: res.text ?? '' })).toEqual([]);
    },
  );

  const templates = [...new Set(ROUTES.map((route) => route.path))];
  const undocumented = templates.flatMap((template) =>
    (['get', 'put', 'post', 'patch', 'delete'] as const)
      .filter((method) => !ROUTES.some((route) => route.path === template && route.method === method))
      .map((method) => [method.toUpperCase(), template, method] as const),
  );

  it.each(undocumented)('answers %s %s, which the document lacks, with the no-route 404', async (_method, template, method) => {
    const res = await send(method, template);
    expect({ status: res.status, body: res.body }).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'No such route.' } } });
  });

  it.each([['/'], ['/kv'], ['/kv/nothing'], ['/admin'], ['/admin/nothing'], ['/admin/accounts/acc_00000000000000000000/keys/x'], ['/openapi'], ['/doc']])(
    'answers GET %s, a path outside every template, with the no-route 404',
    async (pathname) => {
      const template = pathname.startsWith('/kv') ? '/kv/' : pathname.startsWith('/admin') ? '/admin/' : '/';
      const res = await request(app).get(pathname).set('Authorization', credentials(template));
      expect({ status: res.status, body: res.body }).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'No such route.' } } });
    },
  );

  it('reports a status, body or header the document does not declare', () => {
    const seen = { method: 'GET', path: '/kv/usage', headers: { 'content-type': 'application/json' } };
    expect(check({ ...seen, status: 418, text: '{}' })).toEqual(['GET /kv/usage → 418: status not declared for GET /kv/usage']);
    expect(check({ ...seen, status: 200, text: '{"data":{"keys":-1}}' })).toEqual([expect.stringMatching(/body .*keys must be >= 0/)]);
    expect(check({ ...seen, status: 429, headers: { ...seen.headers, 'retry-after': 'soon' }, text: '{"error":{"code":"rate_limited","message":"x"}}' })).toEqual([
      expect.stringMatching(/header Retry-After: .*must match pattern/),
    ]);
    expect(check({ ...seen, status: 404, text: '{"error":{"code":"invalid_key","message":"x"}}' })).toEqual([
      expect.stringMatching(/body .*code must be equal to one of the allowed values/),
    ]);
    expect(check({ ...seen, status: 412, text: '{"error":{"code":"precondition_failed","message":"x"}}' })).toEqual([
      expect.stringMatching(/status not declared/),
    ]);
    expect(check({ method: 'GET', path: '/kv/items/k', status: 200, headers: seen.headers, text: '{"data":{}}' })).toEqual([
      'GET /kv/items/k → 200: header ETag is missing',
      expect.stringMatching(/body .*must have required property/),
    ]);
    expect(check({ method: 'GET', path: '/nowhere', status: 200, headers: seen.headers, text: '{}' })).toEqual(['GET /nowhere → 200: no documented route']);
  });

  it('serves the document at /openapi.json as the code builds it for the configuration', async () => {
    const res = await request(app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(openApiDocument(testConfig(testStore)));
  });

  it('serves /docs with a strict Content-Security-Policy, loading only its own assets', async () => {
    const res = await request(app).get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(DOCS_CSP).toMatch(/^default-src 'self'; /);
    expect(DOCS_CSP).not.toMatch(/script-src|unsafe-eval/);
    expect(res.text).not.toMatch(/<script>|<script [^>]*>[^<]|https?:\/\//);
    const assets = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(assets.length).toBe(4);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/docs\/assets\/[a-z0-9.-]+$/);
      const file = await request(app).get(asset);
      expect({ asset, status: file.status }).toEqual({ asset, status: 200 });
      expect(file.headers['content-type']).toMatch(/^(text\/css|text\/javascript|application\/javascript|image\/png)/);
    }
    const init = await request(app).get('/docs/assets/kv-docs.js');
    expect(init.text).toContain("url: '/openapi.json'");
    expect(init.text).toContain('validatorUrl: null');
  });

  it('refuses the package files the page does not use with 404 not_found', async () => {
    for (const file of ['index.html', 'swagger-initializer.js', 'package.json', '', '../package.json']) {
      const res = await request(app).get(`/docs/assets/${file}`);
      expect({ file, status: res.status, code: res.body?.error?.code }).toEqual({ file, status: 404, code: 'not_found' });
    }
  });

  it('refuses an unknown query parameter on /docs and /openapi.json with 400 invalid_request', async () => {
    for (const pathname of ['/docs?x=1', '/openapi.json?x=1']) {
      const res = await request(app).get(pathname);
      expect({ pathname, status: res.status, code: res.body.error.code }).toEqual({ pathname, status: 400, code: 'invalid_request' });
    }
  });
});
