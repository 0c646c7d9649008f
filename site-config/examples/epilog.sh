#!/bin/bash
# Example site epilog: the wrapper runs the script named by LSST_LOCAL_EPILOG
# after the pilot exits, whatever its exit code (given as $1), so a site can
# keep a record even when the pilot failed.
#
#   export LSST_LOCAL_EPILOG=/cvmfs/sw.lsst.eu/linux-x86_64/panda_env/current/config/site-config/examples/epilog.sh
set -uo pipefail

pilot_exit="${1:-unknown}"
echo "epilog: pilot exited with ${pilot_exit} on $(hostname)"
# A final update the server never acknowledged is kept in final-update.json;
# put it in the batch log too, so it survives a scratch clean-up. Never delete it here.
for f in "${PWD}"/PanDA_Pilot3_*/final-update.json; do
  [ -f "$f" ] || continue
  echo "epilog: unsent final update kept in $f:"
  cat "$f"
done
exit 0
