#!/usr/bin/env node
// The `kv` command: runs the CLI of the package's CommonJS build (made by `npm run build`).
'use strict';

try {
  require.resolve('../dist/cjs/cli/main.js');
} catch {
  process.stderr.write('kv: not built: run `npm run build` in the repository (or the package) first\n');
  process.exit(3);
}
require('../dist/cjs/cli/main.js');
