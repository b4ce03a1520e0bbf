import fs from 'node:fs';
import path from 'node:path';

/** Every route the router serves is described in openapi.yaml, with the same methods. */
describe('openapi.yaml', () => {
  const spec = fs.readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8');
  const router = ['router.ts', 'pvcPlumber.ts']
    .map(file =>
      fs.readFileSync(path.join(__dirname, '..', 'service', file), 'utf8'),
    )
    .join('\n');
  const routes = [
    ...router.matchAll(/router\.(get|post|delete|put|patch)\('([^']+)'/g),
  ].map(m => ({
    method: m[1],
    path: m[2].replace(/:(\w+)/g, '{$1}'),
  }));

  it('finds the routes', () => {
    expect(routes.length).toBeGreaterThanOrEqual(12);
  });

  it.each(routes.map(r => [r.method, r.path]))(
    'describes %s %s',
    (method, route) => {
      const start = spec.indexOf(`\n  ${route}:\n`);
      expect(start).toBeGreaterThan(0);
      const next = spec.slice(start + 1).search(/\n {2}\/|\ncomponents:/);
      expect(spec.slice(start, start + 1 + next)).toContain(
        `\n    ${method}:\n`,
      );
    },
  );
});
