#!/bin/sh
# Entrypoint of every image in the bundle.
# 1. The words of EXTRA_ARGS (from .env) are appended to the command.
# 2. Every model file the command names as /models/... (or the config files it names do) must be
#    there: fetch-models downloads what is missing, or with OFFLINE=1 names it and stops.
# 3. With RUN_AS set and started as root: make WRITABLE_DIRS that user's, then drop to it.
set -eu

set -f  # EXTRA_ARGS is split into words, never globbed
# shellcheck disable=SC2086
set -- "$@" ${EXTRA_ARGS:-}
set +f

fetch-models --ensure "$@"

if [ -n "${RUN_AS:-}" ] && [ "$(id -u)" = 0 ]; then
  for dir in ${WRITABLE_DIRS:-}; do
    install -d -o "$RUN_AS" -g "$RUN_AS" "$dir" 2>/dev/null \
      || echo "warning: cannot make $dir writable for $RUN_AS (read-only models folder?)" >&2
  done
  exec setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups -- "$@"
fi
exec "$@"
