/**
 * Configuration of the kube-restore Backstage backend plugin (`@kube-restore/backstage-plugin-restore-backend`).
 * The backend checks all of it at start-up and refuses to start naming the first bad key.
 */
export interface Config {
  kubeRestore?: {
    /** Clusters the backend creates restores in, as the kube-restore operator identity. */
    clusters: Array<{
      /** Name used by entities (annotation `kube-restore.io/cluster` or `backstage.io/kubernetes-cluster`). */
      name: string;
      /** API server URL, e.g. https://10.0.0.1:6443. Not needed with inCluster. */
      url?: string;
      /** PEM CA bundle of the API server (text or base64). */
      caData?: string;
      /**
       * Bearer token of the operator ServiceAccount.
       * @visibility secret
       */
      serviceAccountToken?: string;
      /** Use the backend pod's own ServiceAccount (in-cluster). */
      inCluster?: boolean;
      skipTLSVerify?: boolean;
    }>;
    /** Cluster for entities without a cluster annotation; default: the only cluster. */
    defaultCluster?: string;

    /** Where backups live. Users pick a source by name and never type a bucket or a namespace. */
    sources: Array<{
      name: string;
      title?: string;
      /** S3-compatible endpoint (absent for AWS S3). */
      endpoint?: string;
      region?: string;
      bucket: string;
      pathStyle?: boolean;
      /**
       * Prefix of an entity's backups, a template: `${namespace}`, `${entity}`, `${kind}`,
       * `${entityNamespace}`, `${cluster}`. Must end with `/`. Unless the source is `shared`, it must pin the
       * target: contain `${namespace}`, or the whole entity ref (`${entityNamespace}`, `${kind}` and `${entity}`).
       */
      prefix: string;
      /**
       * The same data may be restored into more than one namespace (a dataset, a demo): say so explicitly.
       * Default false, and then the prefix must pin the namespace or the entity.
       */
      shared?: boolean;
      credentials?: {
        /** Name of a Secret expected in every target namespace (keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). */
        secretName?: string;
        /**
         * Access key kept in config; the backend writes it into a Secret owned by each restore's Job.
         * @visibility secret
         */
        accessKeyId?: string;
        /**
         * @visibility secret
         */
        secretAccessKey?: string;
        /**
         * @visibility secret
         */
        sessionToken?: string;
      };
      /** Archive tiers users may pick for Glacier objects; default none (archived objects fail the restore). */
      archiveTiers?: Array<'Expedited' | 'Standard' | 'Bulk'>;
      /**
       * Catalog owners (`group:default/sre`, `user:default/alice`) who see where the source is (its
       * endpoint and bucket) in `GET /sources`; everyone else sees its name, title, region and prefix.
       * Default: nobody.
       */
      visibleTo?: string[];
    }>;

    /**
     * What request bodies may set in `options.owner` (who owns the restored files). Absent: nothing; the
     * job's defaults apply (uid 65532, modes from the source).
     */
    ownership?: {
      uid?: { min: number; max: number };
      gid?: { min: number; max: number };
      fsGroup?: { min: number; max: number };
      /** fileMode and dirMode (setuid, setgid and sticky stay refused). */
      modes?: boolean;
    };

    /** The pvc-plumber-compatible `/exists/:namespace/:pvc` check. */
    exists?: {
      /** Name of a source above. */
      source: string;
      /** Where a PVC's backup lives: `${namespace}` and `${pvc}`; a prefix ending in `/` or one key. */
      template: string;
    };

    defaults?: {
      /** Job image. */
      image?: string;
      ttlSecondsAfterFinished?: number;
      activeDeadlineSeconds?: number;
      /** Extra room on top of the data when sizing a new PVC, in percent. */
      overagePercent?: number;
      storageClassName?: string;
    };

    limits?: {
      /** Largest restore, as a quantity (`100Gi`): the data (an archive's estimated unpacked size), and an explicit PVC size. */
      maxBytesPerRestore?: string;
      /** Restores running at once in one namespace. */
      concurrentRestoresPerNamespace?: number;
      /** Restores per owner group of the entity per 24 hours (pending ones count). */
      restoresPerDayPerOwner?: number;
      /** Bytes per owner group per 24 hours, as a quantity. */
      bytesPerDayPerOwner?: string;
      /** Restores per requesting user (or service) per 24 hours (pending ones count); owners can be changed by entity authors, users cannot. */
      restoresPerDayPerUser?: number;
      /** Bytes per requesting user per 24 hours, as a quantity. */
      bytesPerDayPerUser?: string;
    };

    /**
     * What service tokens (backend.auth.externalAccess, other plugins) may do. `GET /exists` always accepts
     * them; everything else needs a user unless allowed here. Backstage's permission framework allows a
     * service principal (without access restrictions) everything and never asks the policy, so what is said
     * here is all that limits a service.
     */
    serviceAccess?: {
      /** Every service token may call the read-only routes (sources, plan, list, get, events, logs) for every entity. Default false. */
      read?: boolean;
      /**
       * Services that may create and delete restores, each only for entities whose `spec.owner` is one of its
       * `owners` (without `read`, they also read and plan only for those). Services never approve or reject.
       * The old form, a plain subject string, is refused at start-up.
       */
      write?: Array<{
        /** `external:<subject>` (backend.auth.externalAccess) or `plugin:<id>`, e.g. `external:release-bot`. */
        subject: string;
        /** Owner entity refs as in `spec.owner`, e.g. `group:default/team-a`; at least one. */
        owners: string[];
      }>;
    };

    /** Notify requesters (success, failure, rejection) and approvers (approval needed) through Backstage's notifications backend. */
    notifications?: {
      /** Default false; needs @backstage/plugin-notifications-backend installed. */
      enabled?: boolean;
    };

    approval?: {
      /** A restore matching any rule waits in PendingApproval until a member of one of the rule's groups approves. */
      rules: Array<{
        name: string;
        /** Restores larger than this quantity. */
        aboveBytes?: string;
        /** Restores that thaw archived objects with one of these tiers. */
        tiers?: Array<'Expedited' | 'Standard' | 'Bulk'>;
        /** Group entity refs, e.g. `group:default/sre`. */
        approvers: string[];
      }>;
    };
  };
}
