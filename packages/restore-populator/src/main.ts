/*
 * The populator's process (the Deployment in deploy/populator): in-cluster credentials, a health
 * endpoint on :8080/healthz, stops on SIGTERM.
 */
import * as http from 'node:http';
import { createKubeClients, loadKubeConfig } from '@kube-restore/core';
import { Populator } from './controller';

const populator = new Populator({
  clients: createKubeClients(loadKubeConfig()),
  image: process.env.KUBE_RESTORE_JOB_IMAGE || undefined,
  log: message =>
    process.stdout.write(`${new Date().toISOString()} ${message}\n`),
});
populator.start();
const health = http
  .createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404).end();
  })
  .listen(Number(process.env.PORT ?? 8080));
process.once('SIGTERM', () => {
  health.close();
  populator.stop().then(() => process.exit(0));
});
