// "prepare": builds dist/ when the compiler is installed, so `npm install` / `npm ci` on a clone
// builds as before; a production install (`npm ci --omit=dev`) has no TypeScript, and skips it.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

let compiler;
try {
  compiler = require.resolve('typescript/package.json', { paths: [root] });
} catch {
  compiler = undefined;
}

if (compiler) {
  // A failed build fails the install, as "prepare": "npm run build" did.
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
} else {
  const built = fs.existsSync(path.join(root, 'dist', 'main.js'));
  console.log(
    built
      ? 'prepare: TypeScript is not installed (production install); using the dist/ already built.'
      : 'prepare: TypeScript is not installed (production install); not building. Build dist/ where dev dependencies are installed (npm ci && npm run build) and copy it here.',
  );
}
