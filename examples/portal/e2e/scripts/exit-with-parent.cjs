// Preloaded into the portal backend (node --require): the launcher holds the other end of stdin, so
// when the launcher dies, even by SIGKILL, stdin ends and the backend shuts down instead of lingering.
// Only on the main thread: preloads also run in the module-hooks thread, whose stdin is always empty.
'use strict';
if (require('node:worker_threads').isMainThread) {
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
}
