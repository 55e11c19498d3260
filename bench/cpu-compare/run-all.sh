#!/usr/bin/env bash
# The whole CPU comparison: every configuration on both pages, RUNS timed runs each (after a
# warm-up), one JSON per configuration and page in RESULTS_DIR, then the table (report.py).
#   bench/cpu-compare/run-all.sh [RESULTS_DIR]
# Environment: PVD_BENCH_DIR (default /tmp/pvd-bench: real/hf, real/gguf, venv-hybrid), PYTHON,
# RUNS (3), TOKENS (64), THREADS (2), QUIET_LOAD (0.6), QUIET_WAIT_MIN (40), ONLY (a regex
# of configuration names to run, e.g. 'llamacpp|hybrid'), DOCKER_HOST for the llama.cpp runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=${PVD_BENCH_DIR:-/tmp/pvd-bench}
python=${PYTHON:-$root/venv-hybrid/bin/python}
results=${1:-$root/results}
runs=${RUNS:-3}
tokens=${TOKENS:-64}
threads=${THREADS:-2}
hf=$root/real/hf
gguf=$root/real/gguf
common=(--runs "$runs" --tokens "$tokens" --threads "$threads" --pages-dir "$root/pages")
mkdir -p "$results"
log=$results/run.log

say() { echo "$(date -u +%FT%TZ) $*" | tee -a "$log" >&2; }

# Wait until the 1-minute load average is below QUIET_LOAD (poll every 60 s, at most
# QUIET_WAIT_MIN minutes); measure anyway after that, and say so.
wait_for_quiet() {
  local limit=${QUIET_LOAD:-0.6} minutes=${QUIET_WAIT_MIN:-40} waited=0 load
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$limit" 'BEGIN { exit !(l < m) }'; then
      say "load $load < $limit after $waited min: starting"
      return
    fi
    if ((waited >= minutes)); then
      say "WARNING: load still $load after $minutes min: measuring anyway"
      return
    fi
    say "load $load >= $limit, waiting ($waited/$minutes min)"
    sleep 60
    waited=$((waited + 1))
  done
}

run() {
  local name=$1
  shift
  if [[ -n ${ONLY:-} && ! $name =~ $ONLY ]]; then
    return
  fi
  for page in 256x256 640x480; do
    say "$name $page: load before $(cut -d' ' -f1-3 /proc/loadavg)"
    (cd "$here" && "$python" "$@" --page "$page" "${common[@]}" --config "$name" \
      --out "$results/$name-$page.json") 2>>"$log"
    say "$name $page: load after $(cut -d' ' -f1-3 /proc/loadavg)"
  done
}

wait_for_quiet
run "a-llamacpp-F16" run_llamacpp.py --gguf-dir "$gguf" --model model.gguf
run "a-llamacpp-Q8_0" run_llamacpp.py --gguf-dir "$gguf" --model model-Q8_0.gguf
run "a-llamacpp-Q4_K_M" run_llamacpp.py --gguf-dir "$gguf" --model model-Q4_K_M.gguf
run "b-transformers-float32" run_transformers.py --model "$hf" --dtype float32
run "c-hybrid-Q4_K_M" run_hybrid.py --model "$hf" --gguf "$gguf/model-Q4_K_M.gguf"
run "c-hybrid-F16" run_hybrid.py --model "$hf" --gguf "$gguf/model.gguf"
"$python" "$here/report.py" "$results" | tee "$results/table.md"
