#!/usr/bin/env bash
# The README's first command: build what is needed, start a local cluster (a real control plane and
# two real nodes) and MinIO, upload a sample dataset, restore it into a new PVC in namespace team-a
# with the real `kubectl restore ... --wait` (the Job's pod runs the job image in a container), and
# show the restored tree.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m%s\033[0m\n' "$*" >&2; }
node scripts/check-node.cjs

say "1/5 building the test servers (cached after the first run), the bundles and the job image"
npm run -s build:servers
npm run -s build
npm run -s image >/dev/null

say "2/5 starting the local cluster and MinIO"
eval "$(npm run -s cluster:up)"
# kubectl v1.36 built by the harness, and kubectl-restore from this checkout, first on PATH.
servers_env="${KUBE_RESTORE_CACHE:-$HOME/.cache/kube-restore}/servers.env"
KUBECTL_BIN=$(sed -n 's/^KUBECTL=//p' "$servers_env")
demo_bin=$(mktemp -d)
ln -sf "$KUBECTL_BIN" "$demo_bin/kubectl"
ln -sf "$PWD/kubectl-plugin/bin/kubectl-restore" "$demo_bin/kubectl-restore"
export PATH="$demo_bin:$PATH"

say "3/5 uploading the sample dataset to s3://datasets/"
node scripts/demo-data.mjs

say "4/5 kubectl restore create --from s3://datasets/demo/ --to pvc/demo-data -n team-a --wait   (as alice, an editor of team-a)"
name="demo-$(date +%H%M%S)"
KUBECONFIG="$KUBECONFIG_ALICE" kubectl restore create "$name" \
  --from s3://datasets/demo/ --to pvc/"$name" -n team-a \
  --endpoint "$KUBE_RESTORE_S3_ENDPOINT" --credentials-from-env --size 1Gi --wait

say "5/5 the restored tree, read from the PVC's directory on its node"
pv=$(kubectl get pvc "$name" -n team-a -o jsonpath='{.spec.volumeName}')
dir=$(kubectl get pv "$pv" -o jsonpath='{.spec.local.path}{.spec.hostPath.path}')
(cd "$dir" && find . -maxdepth 2 | sort | head -25 && echo "... $(find . -type f | wc -l) files, $(du -sh . | cut -f1)")

cat >&2 <<MSG

Poke around (in this shell):
  eval "\$(npm run -s cluster:up)"; export PATH="$demo_bin:\$PATH"
  kubectl restore list -n team-a
  kubectl restore describe $name -n team-a
  kubectl restore logs $name -n team-a
  kubectl restore create --from s3://datasets/archives/demo.tar.gz --to pvc/from-tar -n team-a \\
      --endpoint "\$KUBE_RESTORE_S3_ENDPOINT" --credentials-from-env --size 1Gi --wait
Stop everything:
  npm run cluster:down
MSG
