/**
 * The transformations the stub's jobs name, as real scripts: a pilot that
 * downloads its transformation (as the Python pilot does) gets these from
 * `/trf/<name>` and runs `./<name> <jobPars>`. Kept as text here so the
 * one-file stub bundle carries them.
 */

/** `bash-c-enc`: decodes the base64 parameters and runs them with bash -c. */
export const BASH_C_ENC_SCRIPT = `#!/bin/bash
# bash-c-enc: the PanDA transformation Rubin jobs use. Its parameters are a
# base64-encoded shell command line; this decodes it and runs it with bash -c,
# so any pilot that downloads its transformation can run the stub's jobs.
set -u
if [ "$#" -lt 1 ]; then
  echo "bash-c-enc: usage: bash-c-enc <base64 command line>" >&2
  exit 2
fi
if ! cmd=$(printf '%s' "$*" | tr -d ' \\n' | base64 -d 2>/dev/null); then
  echo "bash-c-enc: the parameters are not base64" >&2
  exit 2
fi
exec /bin/bash -c "$cmd"
`;

/** `bash-c`: runs the parameters with bash -c. */
export const BASH_C_SCRIPT = `#!/bin/bash
# bash-c: the parameters are the command line itself; run it with bash -c.
# (A pilot that runs "<transformation> <parameters>" through a shell has
# already split them into words; they are joined back with spaces.)
set -u
if [ "$#" -lt 1 ]; then
  echo "bash-c: usage: bash-c <command line>" >&2
  exit 2
fi
exec /bin/bash -c "$*"
`;

/** Name → script, as `/trf/<name>` serves them. */
export const TRANSFORMATION_SCRIPTS: Readonly<Record<string, string>> = {
  'bash-c-enc': BASH_C_ENC_SCRIPT,
  'bash-c': BASH_C_SCRIPT,
};
