// Writes docs/openapi.json from the code (run `npm run build` first): the document the service
// serves at /openapi.json with the default configuration. A test fails when the two differ.
const fs = require('node:fs');
const path = require('node:path');
const { loadConfig } = require('../dist/config');
const { openApiDocument } = require('../dist/http/openapi');

const target = path.join(__dirname, '..', 'docs', 'openapi.json');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, `${JSON.stringify(openApiDocument(loadConfig({})), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), target)}`);
