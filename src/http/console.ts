// GET /console and GET /console/assets/{file}: the browser console, built by `npm run build` into dist/console.

import fs from 'node:fs';
import path from 'node:path';
import type { Router } from 'express';
import { notFound } from '../errors';
import { bindRoutes } from './routes';
import type { Validators } from './schemas';

/**
 * Where scripts/build-console.js writes the page: the repository's dist/console. The same path from
 * src/http (tests, ts-node) and from dist/http (the built service), both two levels below the root.
 */
export const CONSOLE_DIR = path.join(__dirname, '..', '..', 'dist', 'console');

/**
 * Only this origin, no inline script or style, no frames, no plugins. `img-src data:` for the
 * stylesheet's small inline icons; `form-action 'self'` as the forms are handled in script anyway.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Asset names as the build writes them: a name, a content hash, an extension. */
const ASSET_NAME = /^[a-z]+\.[A-Z0-9]+\.(js|css)$/;
const ASSET_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

interface BuiltConsole {
  html: string;
  assets: Map<string, { type: string; body: Buffer }>;
}

/** Reads the built page and its assets (a few tens of KB) into memory; null when it has not been built. */
function loadConsole(dir: string): BuiltConsole | null {
  let html: string;
  let names: string[];
  try {
    html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
    names = fs.readdirSync(path.join(dir, 'assets'));
  } catch {
    return null;
  }
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const name of names) {
    const match = ASSET_NAME.exec(name);
    if (match) assets.set(name, { type: ASSET_TYPES[match[1]], body: fs.readFileSync(path.join(dir, 'assets', name)) });
  }
  return { html, assets };
}

/** The headers of every console response: the page may load only its own files and run no inline code. */
function setSecurityHeaders(res: { setHeader(name: string, value: string): unknown }): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/** What the port that serves the page answers, which the page shows: the data API, the admin API. */
export interface ConsoleServes {
  /** `/kv/*` (the public surface, or the only one). */
  data: boolean;
  /** `/admin/*` (the internal surface, or the only one, with KV_ADMIN_TOKEN set). */
  admin: boolean;
}

/** The meta element the page reads what its port serves from; the build leaves its content empty. */
const SERVES_META = '<meta name="kv-serves" content="">';

/**
 * Binds the console's routes on `router` (the app's, at the root); they take no authentication (the
 * page asks for an API key or the admin token and sends it to the API itself). The page is told
 * what this port serves in a meta element, so that opening it costs no request without credentials
 * (each would count against the failed-authentication throttle of its address). The files are read
 * on the first request that finds them, so a service started before `npm run build` serves the
 * console once it is built; until then /console answers 404 `not_found`.
 */
export function consoleRoutes(router: Router, deps: { validators: Validators; serves: ConsoleServes; dir?: string }): void {
  const route = bindRoutes(router);
  const dir = deps.dir ?? CONSOLE_DIR;
  const serves = [deps.serves.data ? 'data' : '', deps.serves.admin ? 'admin' : ''].filter(Boolean).join(' ');
  let built: BuiltConsole | null = null;
  const load = () => {
    if (built) return built;
    built = loadConsole(dir);
    if (built) built.html = built.html.replace(SERVES_META, `<meta name="kv-serves" content="${serves}">`);
    return built;
  };

  route('getConsole', (req, res) => {
    deps.validators.noQuery('query', req.query);
    const page = load();
    if (!page) throw notFound('The console is not built: run npm run build.');
    setSecurityHeaders(res);
    // Always revalidated: a new build names new assets, and the page must point at them.
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(page.html);
  });
  route('getConsoleAsset', (req, res) => {
    const asset = load()?.assets.get(req.params.file as string);
    if (!asset) throw notFound('No such file.');
    setSecurityHeaders(res);
    // The name changes with the content, so a copy never goes stale.
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Content-Type', asset.type);
    res.send(asset.body);
  });
}
