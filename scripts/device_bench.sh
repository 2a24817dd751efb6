#!/usr/bin/env bash
# Every GPU measurement of the performance issue (14) in one command, headless, for a lent
# GPU machine (NVIDIA H200; no display there). Each run prints one line of JSON: its label and
# the figures of `python -m game --bench` (fps, engine CPU ms wall and main-thread, GPU ms,
# fragments per pixel, draws); with $OUT set, every run's full --bench JSON is appended to
# $OUT/device_bench_full.jsonl.
#
#   Sponza 1920x1080 and 3840x2160, each with and without --depth-prepass
#   the default scene at 1920x1080; a clear-only frame (a scene with nothing in it) at both
#   sizes, which gives the pixels per second of the raster hardware alone
#   --stress N for N = 100, 1,000, 10,000, 100,000 and --stress-static 10000 (flying camera),
#   with --culling
#
# Environment (all optional):
#   PYTHON            the interpreter (default python3)
#   WHEELS            a folder of wheels to install first into /tmp/site (default .whl, if any)
#   GL                a folder of Debian packages (the Vulkan loader) to unpack first (.gl)
#   VK_DRIVER_FILES   the Vulkan driver's manifest (default: NVIDIA's, where the machine has it)
#   ZVK_BOOK_RES      the book's res folder, for Sponza (default .book, if any)
#   FRAMES_SCALE      multiplies every run's frame count (default 1; 0.1 for a quick check)
# Runs here too, on lavapipe, with PYTHON=.venv/bin/python FRAMES_SCALE=0.01.
#
# Usage: scripts/device_bench.sh [-h | --help]
set -u
case "${1:-}" in
  "") ;;
  -h | --help)  # the comment above, without its '#'
    sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
  *)
    echo "device_bench.sh: error: it takes no argument, not '$1' (see --help)" >&2
    exit 2
    ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
GL=${GL:-.gl}
SCALE=${FRAMES_SCALE:-1}
if [ -d "$GL" ]; then
  for f in "$GL"/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -d "$WHEELS" ]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHEELS"/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NVIDIA_ICD" ]; then
  export VK_DRIVER_FILES=$NVIDIA_ICD
fi
if [ -z "${ZVK_BOOK_RES:-}" ] && [ -d .book ]; then
  export ZVK_BOOK_RES=$PWD/.book
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# the clear-only frame: a scene with no models and no entities
echo '{"models": [], "entities": [], "camera": {"pos": [0, 0, 0], "pitch": 0, "yaw": -90}}' >"$TMP/empty.json"
"$PYTHON" -m game --info 2>&1 | grep -E "^(Python|GPU)"

run() {  # label frames options... -> one JSON line
  local label=$1 frames=$2
  shift 2
  frames=$("$PYTHON" -c "print(max(3, round($frames * $SCALE)))")
  local out="$TMP/$label.json"
  if ! "$PYTHON" -m game --headless --no-validation --frames "$frames" --bench "$out" "$@" \
    >"$TMP/log" 2>&1; then
    echo "{\"label\": \"$label\", \"error\": $("$PYTHON" -c 'import json,sys; print(json.dumps(sys.stdin.read()[-400:]))' <"$TMP/log")}"
    return
  fi
  # the full --bench JSON of every run, one a line, in one file (a device run returns 8 files)
  [ -n "${OUT:-}" ] && "$PYTHON" -c 'import json,sys; print(json.dumps(dict(label=sys.argv[1], **json.load(open(sys.argv[2])))))' \
    "$label" "$out" >>"$OUT/device_bench_full.jsonl"
  "$PYTHON" - "$label" "$out" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
pixels = d["width"] * d["height"]
print(json.dumps({
    "label": label, "size": f"{d['width']}x{d['height']}", "frames": d["frames"],
    "fps": d["fps"], "gpu_ms": round(d["gpu_frame_ms"]["median"], 4),
    "engine_cpu_ms": round(d["cpu_frame_ms"]["median"], 4),
    "engine_cpu_p95_ms": round(d["cpu_frame_ms"]["p95"], 4),
    "thread_cpu_ms": round(d["thread_frame_ms"]["median"], 4),
    "before_present_ms": d["before_present_ms"],
    "cpu_s_per_frame": d["cpu_s_per_frame"], "draws": d["draws_per_frame"],
    "fragments_per_pixel": d["fragments_per_pixel"],
    "gpu_pixels_per_s": round(pixels / (d["gpu_frame_ms"]["median"] / 1e3)) if d["gpu_frame_ms"]["median"] else None,
    "device": d["device"],
}))
PY
}

if "$PYTHON" -c "from game import book_data; import sys; sys.exit(book_data.find_res() is None)"; then
  for size in 1920x1080 3840x2160; do
    frames=$([ $size = 1920x1080 ] && echo 5000 || echo 2000)
    run "sponza-$size" "$frames" --scene sponza --size $size
    run "sponza-$size-prepass" "$frames" --scene sponza --size $size --depth-prepass
  done
else
  echo '{"label": "sponza", "error": "no book data: set ZVK_BOOK_RES (a folder holding models/sponza)"}'
fi
run default-1920x1080 5000 --size 1920x1080
run clear-1920x1080 5000 --scene "$TMP/empty.json" --size 1920x1080
run clear-3840x2160 2000 --scene "$TMP/empty.json" --size 3840x2160
for n in 100 1000 10000 100000; do
  run "stress-$n" $((n >= 100000 ? 300 : 1000)) --stress $n --culling --size 1920x1080
done
run stress-static-10000 1000 --stress-static 10000 --culling --size 1920x1080
