// Copies the Redis Lua scripts next to the compiled store, where the Redis store reads them at start-up.
const fs = require('node:fs');
const path = require('node:path');

const from = path.join(__dirname, '..', 'src', 'store', 'redis', 'scripts');
const to = path.join(__dirname, '..', 'dist', 'store', 'redis', 'scripts');
fs.rmSync(to, { recursive: true, force: true });
fs.cpSync(from, to, { recursive: true, filter: (src) => fs.statSync(src).isDirectory() || src.endsWith('.lua') });
