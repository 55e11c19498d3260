#!/bin/sh
# Entrypoint of every image in the bundle.
# 1. Every model file named on the command line as /models/... must be there: fetch-models
#    downloads what is missing, or with OFFLINE=1 names the missing file and stops.
# 2. With RUN_AS set and started as root: make WRITABLE_DIRS that user's, then drop to it.
# 3. Run the command, with the words of EXTRA_ARGS (from .env) appended.
set -eu

fetch-models --ensure "$@"

set -f  # EXTRA_ARGS is split into words, never globbed
# shellcheck disable=SC2086
set -- "$@" ${EXTRA_ARGS:-}
set +f

if [ -n "${RUN_AS:-}" ] && [ "$(id -u)" = 0 ]; then
  for dir in ${WRITABLE_DIRS:-}; do
    install -d -o "$RUN_AS" -g "$RUN_AS" "$dir" 2>/dev/null \
      || echo "warning: cannot make $dir writable for $RUN_AS (read-only models folder?)" >&2
  done
  exec setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups -- "$@"
fi
exec "$@"
