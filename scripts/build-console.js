// Builds the console (console/) into dist/console: type-checks it (tsc, DOM types), bundles its
// script and stylesheet with esbuild under content-hashed names, and writes index.html naming them.
// Nothing is fetched at run time: @kv/client is bundled from its source.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const source = path.join(root, 'console');
const out = path.join(root, 'dist', 'console');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });

// A type error fails the build (the root typecheck has no DOM types, so the console has its own project).
execFileSync(process.execPath, [tsc, '-p', path.join(source, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });

const bundle = (entry, options = {}) =>
  esbuild.buildSync({
    entryPoints: [path.join(source, 'src', entry)],
    bundle: true,
    minify: true,
    write: false,
    target: ['chrome110', 'firefox115', 'safari16'],
    legalComments: 'none',
    logLevel: 'warning',
    ...options,
  }).outputFiles[0].contents;

/** `name.HASH.ext`: the name changes with the content, so the files may be cached for ever. */
const hashed = (name, ext, contents) =>
  `${name}.${crypto.createHash('sha256').update(contents).digest('hex').slice(0, 10).toUpperCase()}.${ext}`;

const js = bundle('main.ts', { format: 'esm', platform: 'browser' });
const css = bundle('console.css', { loader: { '.css': 'css' } });
const files = { js: hashed('console', 'js', js), css: hashed('console', 'css', css) };

const template = fs.readFileSync(path.join(source, 'index.html'), 'utf8');
const html = template.replace('{{css}}', `/console/assets/${files.css}`).replace('{{js}}', `/console/assets/${files.js}`);
if (html.includes('{{') || /<script(?![^>]*\bsrc=)[^>]*>|\sstyle=/i.test(html)) {
  throw new Error('console/index.html: a placeholder is left, or it has inline script or style (the CSP refuses them)');
}
// The service fills it in (src/http/console.ts): which APIs the port serving the page answers.
if (!html.includes('<meta name="kv-serves" content="">')) throw new Error('console/index.html: the kv-serves meta element is missing');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'assets'), { recursive: true });
fs.writeFileSync(path.join(out, 'assets', files.js), js);
fs.writeFileSync(path.join(out, 'assets', files.css), css);
fs.writeFileSync(path.join(out, 'index.html'), html);

const gzip = (contents) => zlib.gzipSync(contents, { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(
  `console: ${files.js} ${kb(js.length)} (${kb(gzip(js))} gzipped), ${files.css} ${kb(css.length)} (${kb(gzip(css))} gzipped)`,
);
