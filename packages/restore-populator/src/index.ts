/** @kube-restore/populator: the volume populator for RestoreSource, and its CRD. */
export { Populator } from './controller';
export type { PopulatorOptions } from './controller';
export {
  REASON_FAILED,
  REASON_FINISHED,
  REASON_INVALID,
  REASON_STARTED,
} from './reconcile';
export { REASON_PROGRESS } from './progressEvents';
export { CRD_FILE, restoreSourceCrd, restoreSourceCrdYaml } from './crd';
export { toStructuralSchema, UnsupportedSchemaError } from './openapi';
