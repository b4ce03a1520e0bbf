/**
 * pvc-plumber's HTTP contract, served by the restore backend, so that admission policies written for
 * pvc-plumber (a Kyverno apiCall to `GET /exists/{namespace}/{pvc}`, read with `jmesPath: exists` or
 * `{{ check.exists || false }}`) work unchanged against `/api/restore/pvc-plumber`:
 *
 * - 200 `{"exists":true,"keyCount":1}` when a backup exists, `{"exists":false,"keyCount":0}` when not;
 * - fail-open: when nobody can tell (S3 unreachable, no such bucket, not configured) still 200, with
 *   `{"exists":false,"keyCount":0,"error":"..."}`, so the PVC is created empty rather than refused;
 * - 400 `{"exists":false,"error":"..."}` for a namespace or PVC name that cannot be one.
 *
 * `keyCount` is what pvc-plumber read from ListObjectsV2 with max-keys=1: 1 or 0. The decision is the one of
 * `GET /exists/:namespace/:pvc` (exists.ts), whose own answer stays three-valued, with 503 for unknown, for
 * policies that should fail closed. Callers are services (a static token from backend.auth.externalAccess).
 */
import { HttpAuthService } from '@backstage/backend-plugin-api';
import {
  dns1123LabelProblem,
  dns1123SubdomainProblem,
} from '@kube-restore/common';
import { BackupDecision } from '@kube-restore/core';
import express from 'express';
import Router from 'express-promise-router';

/** The body pvc-plumber answers `GET /exists/{namespace}/{pvc}` with. */
export interface PvcPlumberAnswer {
  exists: boolean;
  keyCount?: number;
  error?: string;
}

export function pvcPlumberAnswer(decision: BackupDecision): PvcPlumberAnswer {
  if (decision.decision === 'restore') return { exists: true, keyCount: 1 };
  if (decision.decision === 'fresh') return { exists: false, keyCount: 0 };
  return { exists: false, keyCount: 0, error: decision.reason };
}

export function pvcPlumberRouter(options: {
  httpAuth: HttpAuthService;
  exists: (namespace: string, pvc: string) => Promise<BackupDecision>;
}): express.Router {
  const router = Router();
  router.get('/pvc-plumber/exists/:namespace/:pvc', async (req, res) => {
    await options.httpAuth.credentials(req, { allow: ['service'] });
    const { namespace, pvc } = req.params;
    const problem =
      (dns1123LabelProblem(namespace) &&
        `namespace "${namespace}" ${dns1123LabelProblem(namespace)}`) ||
      (dns1123SubdomainProblem(pvc) &&
        `pvc "${pvc}" ${dns1123SubdomainProblem(pvc)}`);
    if (problem) {
      res.status(400).json({ exists: false, error: problem });
      return;
    }
    let answer: PvcPlumberAnswer;
    try {
      answer = pvcPlumberAnswer(await options.exists(namespace, pvc));
    } catch (error) {
      answer = {
        exists: false,
        keyCount: 0,
        error: String((error as Error)?.message ?? error),
      };
    }
    res.status(200).json(answer);
  });
  return router;
}
