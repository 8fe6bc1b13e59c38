// Builds the package: the library as one ESM and one CommonJS file (esbuild), its type declarations
// (tsc), the CLI when its source is there (tsc, CommonJS, Node only), and a minified browser bundle.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
const entry = path.join(root, 'src', 'index.ts');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });

function typescript(project) {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, project)], { cwd: root, stdio: 'inherit' });
}

fs.rmSync(dist, { recursive: true, force: true });
// Type-checks the library with no Node types (so it cannot lean on Node) and writes its .d.ts files.
typescript('tsconfig.types.json');
// The CLI (src/cli) runs on Node only: compiled file by file into dist/cjs/cli.
if (fs.existsSync(path.join(root, 'src', 'cli'))) {
  typescript('tsconfig.cli.json');
  // tsc also wrote the library's files it imports; the CLI loads the library through ../index (the
  // bundle below), so those copies go: one copy of each class, and `instanceof` holds across both.
  for (const name of fs.readdirSync(path.join(dist, 'cjs'))) {
    if (name !== 'cli') fs.rmSync(path.join(dist, 'cjs', name), { recursive: true, force: true });
  }
}

const common = { entryPoints: [entry], bundle: true, target: 'es2022', sourcemap: true, legalComments: 'none', logLevel: 'warning' };
esbuild.buildSync({ ...common, outfile: path.join(dist, 'esm', 'index.js'), format: 'esm', platform: 'neutral' });
esbuild.buildSync({ ...common, outfile: path.join(dist, 'cjs', 'index.js'), format: 'cjs', platform: 'neutral' });
// One file for pages: <script type="module"> or import() of dist/browser/kv-client.min.js.
esbuild.buildSync({ ...common, outfile: path.join(dist, 'browser', 'kv-client.min.js'), format: 'esm', platform: 'browser', minify: true });

// Each folder says how Node is to load its .js files, whatever the package's own "type".
fs.writeFileSync(path.join(dist, 'esm', 'package.json'), '{ "type": "module" }\n');
fs.writeFileSync(path.join(dist, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
