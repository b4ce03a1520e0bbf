#!/usr/bin/env node
// Entry point for `npm run cluster:up|cluster:down|cluster:status|cluster:env`: runs src/cli.ts.
// stdout is reserved for the `export` lines.
'use strict';
const path = require('node:path');
const { runTsCli } = require('./run-ts-cli.cjs');

runTsCli({ pkgDir: path.resolve(__dirname, '..'), name: 'cluster' });
