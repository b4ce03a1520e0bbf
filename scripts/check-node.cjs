#!/usr/bin/env node
// Fails early, with the command to run, when npm runs on another Node than the one the project ships
// (scripts/versions.env: the job image's runtime; the tests and native modules are built for it).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const env = fs.readFileSync(path.join(__dirname, 'versions.env'), 'utf8');
const want = /^NODE_VERSION=(\S+)$/m.exec(env)[1];
const have = process.versions.node;
if (have.split('.')[0] !== want.split('.')[0]) {
  process.stderr.write(
    `kube-restore runs on Node ${want} (this is Node ${have}).\n` +
      'Run `. scripts/env.sh` in this shell first: it installs that Node from the npm registry and puts it on PATH.\n',
  );
  process.exit(1);
}
