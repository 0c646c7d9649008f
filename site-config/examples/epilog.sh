#!/bin/bash
# Example site epilog: the wrapper runs the script named by LSST_LOCAL_EPILOG
# in the work dir after the pilot exits, whatever its exit code, before the
# work dir is removed, so a site can keep a record even when the pilot failed.
# Arguments: $1 the work dir, $2 the wrapper's exit code.
#
#   export LSST_LOCAL_EPILOG=/cvmfs/sw.lsst.eu/linux-x86_64/panda_env/current/config/site-config/examples/epilog.sh
set -uo pipefail

workdir="${1:-$PWD}"
pilot_exit="${2:-unknown}"
echo "epilog: pilot exited with ${pilot_exit} on $(hostname)"
# A final update the server never acknowledged is kept in final-update.json;
# put it in the batch log too, so it survives a scratch clean-up. Never delete it here.
for f in "${workdir}"/PanDA_Pilot3_*/final-update.json; do
  [ -f "$f" ] || continue
  echo "epilog: unsent final update kept in $f:"
  cat "$f"
done
exit 0
