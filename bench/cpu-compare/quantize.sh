#!/usr/bin/env bash
# Quantise the F16 text model of a GGUF pair with llama.cpp's own llama-quantize (the one in the
# llama.cpp server image the bundle pins), into Q8_0 and Q4_K_M next to it. The vision projector
# (mmproj) stays F16, as in the bundle.
#   bench/cpu-compare/quantize.sh GGUF_DIR [IMAGE]
# GGUF_DIR holds model.gguf (F16); IMAGE defaults to standin/llama.cpp:server-b11434.
set -euo pipefail

gguf_dir=$(realpath "${1:?usage: quantize.sh GGUF_DIR [IMAGE]}")
image=${2:-standin/llama.cpp:server-b11434}

if [[ ! -f $gguf_dir/model.gguf ]]; then
  echo "error: $gguf_dir/model.gguf not found" >&2
  exit 1
fi
for type in Q8_0 Q4_K_M; do
  out=model-$type.gguf
  if [[ -f $gguf_dir/$out ]]; then
    echo "$out exists"
    continue
  fi
  docker run --rm --network none --entrypoint /app/llama-quantize -v "$gguf_dir:/m" "$image" \
    /m/model.gguf "/m/$out" "$type" 2
done
ls -l "$gguf_dir"
