#!/usr/bin/env node
// Entry point for `npm run portal` and `npm run portal:screenshots`: runs src/cli.ts (bundled the way
// test/cluster's scripts are). playwright-core stays external.
'use strict';
const path = require('node:path');
const {
  runTsCli,
} = require('@kube-restore/test-cluster/scripts/run-ts-cli.cjs');

runTsCli({
  pkgDir: path.resolve(__dirname, '..'),
  name: 'portal',
  external: ['playwright-core'],
});
