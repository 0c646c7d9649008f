#!/bin/bash
# Example site prolog: the wrapper sources the script named by LSST_LOCAL_PROLOG
# before it starts the pilot; what it exports reaches the pilot and payloads
# (a failing prolog stops the batch job before any PanDA job is pulled: exit 3).
#
#   export LSST_LOCAL_PROLOG=/cvmfs/sw.lsst.eu/linux-x86_64/panda_env/current/config/site-config/examples/prolog.sh
#
# What sites typically do here: check the node is fit to run (scratch space,
# cvmfs), point payloads at the site's butler and caches, and log the node.
set -euo pipefail

scratch="${TMPDIR:-/tmp}"
# pilot3 wants >= 2 GB free before asking for a job; fail early and say why.
free_mb=$(df -Pm "$scratch" | awk 'NR==2 {print $4}')
if [ "${free_mb:-0}" -lt 2048 ]; then
  echo "prolog: only ${free_mb} MB free in $scratch (need 2048)" >&2
  exit 1
fi

# Site-specific payload environment (values are examples).
export DAF_BUTLER_REPOSITORY_INDEX="${DAF_BUTLER_REPOSITORY_INDEX:-/sdf/group/rubin/shared/data-repos.yaml}"
echo "prolog: $(hostname) ok, ${free_mb} MB free in $scratch, release ${PANDA_PILOT_RELEASE:-unset}"
