/** Label and annotation keys kube-restore puts on the objects it creates. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kube-restore';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_RESTORE = 'kube-restore.io/restore';

/** The request (never a secret) as JSON, on the Job. */
export const ANNOTATION_REQUEST = 'kube-restore.io/request';
/** On a PVC: kube-restore created it for this restore (so `delete --keep-pvc=false` may remove it). */
export const ANNOTATION_CREATED_BY = 'kube-restore.io/created-by';
/** Who asked for the restore (kubectl user or Backstage user entity ref). */
export const ANNOTATION_REQUESTER = 'kube-restore.io/requester';

/** The opt-in RoleBinding a namespace admin creates with deploy/rbac/opt-in (binds the operator's ClusterRole). */
export const OPT_IN_ROLEBINDING = 'kube-restore-operator';
/**
 * On the opt-in RoleBinding: the catalog owners (`group:default/team-a,user:default/alice`) whose entities the
 * Backstage backend may restore into this namespace. Namespace admins set it; entity authors cannot.
 */
export const ANNOTATION_BACKSTAGE_OWNERS = 'kube-restore.io/backstage-owners';

/** Path of the integrity manifest inside the volume. */
export const MANIFEST_DIR = '.kube-restore';
export const MANIFEST_FILE = `${MANIFEST_DIR}/manifest.jsonl`;

/** Env vars of the job program's container. */
export const ENV_REQUEST = 'KUBE_RESTORE_REQUEST';
export const ENV_TARGET = 'KUBE_RESTORE_TARGET';
/** `true` on a Job whose deployment allows setuid, setgid and sticky bits in fileMode/dirMode. */
export const ENV_ALLOW_SPECIAL_MODE_BITS =
  'KUBE_RESTORE_ALLOW_SPECIAL_MODE_BITS';
export const ENV_TERMINATION_MESSAGE_PATH = 'TERMINATION_MESSAGE_PATH';
export const DEFAULT_TARGET = '/data';
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
