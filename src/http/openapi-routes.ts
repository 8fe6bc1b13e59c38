// GET /openapi.json and GET /docs: the API document and a page to browse it, all served from here (no CDN).

import type { Router } from 'express';
import type { Config } from '../config';
import { notFound } from '../errors';
import { openApiDocument } from './openapi';
import { bindRoutes } from './routes';
import { createValidators } from './schemas';

/**
 * swagger-ui-dist's directory. Its absolute-path module alone: the package's main module would
 * load the whole 1.5 MB browser bundle into this process.
 */
const swaggerUiDir = (require('swagger-ui-dist/absolute-path.js') as () => string)();

/** What the page loads; the package's own index.html and initializer (which load a demo API from the internet) are not served. */
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']);

const INIT_FILE = 'kv-docs.js';

/** Starts swagger-ui on /openapi.json. A file, not an inline script, so the page's CSP allows no inline code. */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Otherwise swagger-ui sends the document to validator.swagger.io for a badge.
    validatorUrl: null,
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KV API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/${INIT_FILE}"></script>
</body>
</html>
`;

/** Same-origin only, no inline script or style; swagger-ui draws some icons from data: URLs. */
export const DOCS_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Binds the documentation routes on `router` (the app's, at the root); they take no authentication. */
export function openApiRoutes(router: Router, config: Pick<Config, 'maxTtlSeconds' | 'maxKeyBytes' | 'maxValueBytes'>): void {
  const route = bindRoutes(router);
  const validators = createValidators(config);
  const document = JSON.stringify(openApiDocument(config));

  route('getOpenApi', (req, res) => {
    validators.noQuery('query', req.query);
    res.type('application/json').send(document);
  });
  route('getDocs', (req, res) => {
    validators.noQuery('query', req.query);
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('html').send(PAGE);
  });
  // An allow-list and sendFile rather than express.static over the package directory: only what
  // the page loads is served, and other methods fall through to the app's no-route 404.
  route('getDocsAsset', (req, res, next) => {
    const file = req.params.file as string;
    if (file === INIT_FILE) {
      res.type('text/javascript').send(INIT_SCRIPT);
      return;
    }
    if (!ASSETS.has(file)) throw notFound('No such file.');
    res.sendFile(file, { root: swaggerUiDir }, (error) => {
      if (error) next(error);
    });
  });
}
