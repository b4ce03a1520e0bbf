/** Step 1b: the job image archive and the install manifests of the release folder. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { jobImage } from '../versions.ts';
import { check, out, step, version } from './context.ts';
import { sh } from './tools.ts';

/** The job image archive is tagged with the version; the install manifests name and admit that image. */
export function checkImageAndManifests(): void {
  step('1b. job image archive and install manifests');
  const image = path.join(out, `restore-job-${version}.oci.tar`);
  check(
    fs.existsSync(image),
    `restore-job-${version}.oci.tar is not in the release (npm run image)`,
  );
  const index = JSON.parse(sh('tar', ['-xOf', image, 'index.json']));
  const annotations = index.manifests?.[0]?.annotations ?? {};
  check(
    annotations['io.containerd.image.name'] === jobImage(version) &&
      annotations['org.opencontainers.image.ref.name'] === version,
    `the image's index.json names ${JSON.stringify(annotations)}, expected ${jobImage(version)}`,
  );
  const dockerManifest = JSON.parse(
    sh('tar', ['-xOf', image, 'manifest.json']),
  );
  check(
    dockerManifest[0]?.RepoTags?.includes(jobImage(version)),
    `the image's manifest.json RepoTags do not include ${jobImage(version)}`,
  );
  const install = fs.readFileSync(
    path.join(out, `kube-restore-${version}.yaml`),
    'utf8',
  );
  check(
    install.includes(`# Job image: ${jobImage(version)}`),
    `kube-restore-${version}.yaml does not name ${jobImage(version)}`,
  );
  const docs = YAML.parseAllDocuments(install).filter(d => d.contents);
  check(
    docs.every(d => d.errors.length === 0),
    `kube-restore-${version}.yaml does not parse`,
  );
  const kinds = docs.map(d => d.toJS().kind);
  for (const kind of [
    'Namespace',
    'ServiceAccount',
    'ClusterRole',
    'ValidatingAdmissionPolicy',
  ])
    check(kinds.includes(kind), `kube-restore-${version}.yaml has no ${kind}`);
  const policy = docs
    .map(d => d.toJS())
    .find(
      d =>
        d.kind === 'ValidatingAdmissionPolicy' &&
        d.metadata.name === 'kube-restore-operator-jobs',
    );
  const imageVar = policy?.spec?.variables?.find(
    (v: { name: string }) => v.name === 'image',
  );
  check(
    imageVar,
    'the install has no kube-restore-operator-jobs policy with an image variable',
  );
  check(
    new RegExp(imageVar.expression.replace(/^'|'$/g, '')).test(
      jobImage(version),
    ),
    `the operator guardrail does not admit ${jobImage(version)}`,
  );
  const optIn = YAML.parseAllDocuments(
    fs.readFileSync(
      path.join(out, `kube-restore-opt-in-${version}.yaml`),
      'utf8',
    ),
  )
    .filter(d => d.contents)
    .map(d => d.toJS());
  check(
    optIn.length > 0 &&
      optIn.every(d => d.kind === 'RoleBinding' && !d.metadata.namespace),
    'kube-restore-opt-in: expected RoleBindings without a namespace (kubectl -n decides)',
  );
}
