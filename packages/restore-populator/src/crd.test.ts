import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { restoreSourceSpecSchema, sourceSchema } from '@kube-restore/common';
import { CRD_FILE, restoreSourceCrd, restoreSourceCrdYaml } from './crd';
import { toStructuralSchema, UnsupportedSchemaError } from './openapi';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

describe('the RestoreSource CRD', () => {
  it('is committed exactly as the request schema generates it (npm run crd -w @kube-restore/populator)', () => {
    const stored = fs.readFileSync(path.join(REPO_ROOT, CRD_FILE), 'utf8');
    expect(YAML.parse(stored)).toEqual(restoreSourceCrd());
    expect(YAML.parse(restoreSourceCrdYaml())).toEqual(restoreSourceCrd());
    expect(stored.split('\n').slice(0, 2).join('\n')).toBe(
      restoreSourceCrdYaml().split('\n').slice(0, 2).join('\n'),
    );
  });

  it("follows the request schema's source part field by field", () => {
    const spec = toStructuralSchema(restoreSourceSpecSchema);
    const source = spec.properties!.source;
    expect(spec.required).toEqual(['source']);
    expect(source.required).toEqual(['bucket']);
    expect(Object.keys(source.properties!).sort()).toEqual(
      Object.keys((sourceSchema as any)._def.schema._def.schema.shape).sort(),
    );
    expect(source.properties!.format).toEqual({
      type: 'string',
      enum: ['objects', 'tar', 'auto'],
      default: 'auto',
    });
    expect(source.properties!.region.pattern).toBe('^[a-z0-9-]{1,32}$');
    expect(source.properties!.asOf.format).toBe('date-time');
    expect(source.properties!.include).toMatchObject({
      type: 'array',
      maxItems: 64,
      items: { type: 'string', minLength: 1, maxLength: 1024 },
    });
    const credentials = spec.properties!.credentials;
    expect(credentials.properties!.type.enum).toEqual([
      'secret',
      'serviceAccount',
      'nodeIdentity',
      'anonymous',
      'none',
    ]);
    expect(credentials.required).toEqual(['type']);
    expect(spec.properties!.options.properties!.parallelism).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 1,
    });
  });

  it('is structural: every node has a type, and no object mixes properties with additionalProperties', () => {
    const walk = (node: any, at: string): string[] => {
      if (!node || typeof node !== 'object') return [];
      const problems: string[] = [];
      if (!node.type && !node['x-kubernetes-preserve-unknown-fields'])
        problems.push(`${at}: no type`);
      if (node.properties && node.additionalProperties)
        problems.push(`${at}: properties and additionalProperties`);
      for (const [k, v] of Object.entries(node.properties ?? {}))
        problems.push(...walk(v, `${at}.${k}`));
      if (node.items) problems.push(...walk(node.items, `${at}[]`));
      return problems;
    };
    const version = (restoreSourceCrd().spec as any).versions[0];
    expect(walk(version.schema.openAPIV3Schema, '')).toEqual([]);
    expect(version.subresources).toEqual({ status: {} });
  });

  it('refuses a zod type it cannot express, naming where', () => {
    const fake = {
      _def: {
        typeName: 'ZodObject',
        shape: () => ({ when: { _def: { typeName: 'ZodDate' } } }),
      },
    };
    expect(() => toStructuralSchema(fake)).toThrow(UnsupportedSchemaError);
    expect(() => toStructuralSchema(fake)).toThrow(
      'when: zod type ZodDate has no CRD schema',
    );
  });
});
