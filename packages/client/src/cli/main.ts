// The kv process: runs the command line given to it on this process's streams and exits with its code.

import { runCli } from './run';

// `kv export | head`: once the reader is gone there is nothing left to write for; end quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then((code) => {
  process.exitCode = code;
});
