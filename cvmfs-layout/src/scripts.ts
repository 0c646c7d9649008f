/**
 * The small shell scripts a release tree carries. `setup.sh` resolves its own
 * directory physically, so a job that sourced it through `current` keeps its
 * version even when `current` is switched while it runs.
 */

/** `setup.sh`: source it to put the tree's runtime and commands first on PATH. */
export function setupScript(version: string): string {
  return `# panda-node-pilot release ${version}: source this file (bash, zsh, sh).
#   . /cvmfs/sw.lsst.eu/<platform>/panda_env/current/setup.sh
# Sets PANDA_PILOT_RELEASE (this version's directory, symlinks resolved) and
# puts its Node.js runtime and the panda-pilot command first on PATH.
# Plain sh cannot tell a sourced file its own path: there, source it from
# the tree's directory (or set PANDA_PILOT_RELEASE first).
if [ -n "\${BASH_SOURCE:-}" ]; then _panda_setup="\${BASH_SOURCE[0]}"; elif [ -n "\${ZSH_VERSION:-}" ]; then _panda_setup="\${(%):-%x}"; else _panda_setup=""; fi
# Only shell builtins here: a worker node's PATH may be minimal.
case "$_panda_setup" in
  */*) _panda_setup="\${_panda_setup%/*}" ;;
  "") if [ -n "\${PANDA_PILOT_RELEASE:-}" ]; then _panda_setup="$PANDA_PILOT_RELEASE"; elif [ -f ./setup.sh ] && [ -d ./runtime ]; then _panda_setup=.; fi ;;
  *) _panda_setup=. ;;
esac
if [ -z "$_panda_setup" ]; then
  echo "setup.sh: cannot find the release directory; source me from bash or zsh, from the tree's directory, or set PANDA_PILOT_RELEASE" >&2
  unset _panda_setup
  return 1 2>/dev/null || exit 1
fi
PANDA_PILOT_RELEASE="$(cd "$_panda_setup" && pwd -P)"
export PANDA_PILOT_RELEASE
export PANDA_PILOT_VERSION="${version}"
case ":$PATH:" in
  *":$PANDA_PILOT_RELEASE/runtime/bin:"*) ;;
  *) PATH="$PANDA_PILOT_RELEASE/runtime/bin:$PANDA_PILOT_RELEASE/bin:$PATH"; export PATH ;;
esac
unset _panda_setup
`;
}

/** `bin/panda-pilot`: runs the tree's pilot with the tree's runtime, whatever node is on PATH. */
export function pilotLauncher(): string {
  return `#!/bin/sh
# Runs this release's pilot with this release's Node.js runtime.
# Only shell builtins here: a worker node's PATH may be minimal.
case "$0" in */*) bindir="\${0%/*}" ;; *) bindir=. ;; esac
here="$(cd "$bindir/.." && pwd -P)"
PANDA_PILOT_RELEASE="$here" exec "$here/runtime/bin/node" "$here/pilot/panda-pilot.mjs" "$@"
`;
}
