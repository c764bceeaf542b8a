#!/usr/bin/env bash
# The device kit's runner (built by bench/device/build-kit.mjs; see "The device kit" in bench/NOTES.md).
# Unpacks the kit (Node, the bundles, Dawn, the data, the Vulkan loader) into a work folder once,
# points the Vulkan loader at the NVIDIA driver when --expect nvidia, finds a python3 with torch for
# the PyTorch peer, then runs the device run (app/js/device-run.mjs) with the kit's Node:
#
#   .device-kit/run.sh --expect nvidia --full            # on the GPU machine: JSON and log in $OUT
#   .device-kit/run.sh --expect llvmpipe --out DIR        # the dry run on lavapipe, tiny sizes
#   .device-kit/run.sh --expect nvidia --full --only b    # one part alone (a b c d e, or names)
#   .device-kit/run.sh node bench.mjs --list              # any bundle of app/js in the kit's setting
#
# Runner flags: --loader kit|system|root: the Vulkan loader (kit: the kit's libvulkan1 through
# LD_LIBRARY_PATH, the default; system: the machine's own; root: the device notes' recipe, the .deb
# files unpacked into / and ldconfig, as root only; the runner falls back to it by itself when the
# kit's loader finds no NVIDIA adapter on a GPU machine). Everything else goes to device-run.mjs
# (--help lists it). Environment: GRADMIX_KIT_WORK (where the kit is unpacked, default
# ${TMPDIR:-/tmp}/gradmix-kit), GRADMIX_KIT_KEEP=1 (keep the run's checkpoints and part files),
# OUT (the output folder when --out is not given).
set -euo pipefail
# The device run's --deadline counts from here (a loader fallback's second run keeps this start).
export GRADMIX_KIT_T0="${GRADMIX_KIT_T0:-$(date +%s)}"
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="${OUT:-}"
LOADER=kit
LOADER_GIVEN=0
EXPECT=""
NODE_SCRIPT=""
args=()
if [ "${1:-}" = node ]; then
  NODE_SCRIPT="${2:?run.sh node needs a bundle of app/js, e.g. bench.mjs}"
  shift 2
  args=("$@")
else
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) OUT_DIR="${2:?--out needs a folder}"; shift 2 ;;
      --loader) LOADER="${2:?--loader needs kit, system or root}"; LOADER_GIVEN=1; shift 2 ;;
      --expect) EXPECT="${2:-}"; args+=("$1" "${2:-}"); shift 2 || shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  [ -n "$OUT_DIR" ] || { echo "run.sh: no output folder: pass --out DIR (on the device machine \$OUT is set)" >&2; exit 1; }
  mkdir -p "$OUT_DIR"
  OUT_DIR="$(cd "$OUT_DIR" && pwd)"
  : > "$OUT_DIR/device-run.log"
fi
LOG="${OUT_DIR:+$OUT_DIR/device-run.log}"
say() { if [ -n "$LOG" ]; then echo "run.sh: $*" | tee -a "$LOG"; else echo "run.sh: $*" >&2; fi; }

ID="$(sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' "$KIT/kit.json" | head -1)"
[ -n "$ID" ] || { echo "run.sh: $KIT/kit.json has no id: rebuild the kit (npm run device:kit)" >&2; exit 1; }
WORK="${GRADMIX_KIT_WORK:-${TMPDIR:-/tmp}/gradmix-kit}"

# xz through tar where xz is installed, else Python's tarfile (lzma is in its standard library).
untar() {
  mkdir -p "$2"
  if command -v xz >/dev/null 2>&1; then tar -xJf "$1" -C "$2"
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi
}
# Unpacked once per kit id, into a fresh folder moved into place whole (a run already using an
# older unpacking keeps its files until it ends).
unpack() {
  if [ "$(cat "$WORK/.kit-id" 2>/dev/null || true)" != "$ID" ]; then
    t0=$SECONDS
    mkdir -p "$(dirname "$WORK")"
    NEW="$(mktemp -d "$WORK.new.XXXXXX")"
    untar "$KIT/node.tar.xz" "$NEW/node"
    untar "$KIT/app.tar.xz" "$NEW"
    untar "$KIT/dawn.tar.xz" "$NEW/app"
    untar "$KIT/data.tar.xz" "$NEW/app"
    untar "$KIT/vulkan.tar.xz" "$NEW/vulkan"
    echo "$ID" > "$NEW/.kit-id"
    rm -rf "$WORK" && mv "$NEW" "$WORK"
    say "unpacked kit $ID into $WORK in $((SECONDS - t0)) s"
  fi
  NODE="$WORK/node/bin/node"
}
unpack
# A /tmp mounted noexec runs nothing from it: unpack beside the kit instead.
if ! "$NODE" --version >/dev/null 2>&1 && [ -z "${GRADMIX_KIT_WORK:-}" ]; then
  say "$NODE does not run from $WORK (a noexec mount?): unpacking beside the kit"
  WORK="$(dirname "$KIT")/.device-work"
  unpack
fi

ORIGINAL_LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
use_loader() {
  export LD_LIBRARY_PATH="$ORIGINAL_LD_LIBRARY_PATH"
  case "$1" in
    kit) export LD_LIBRARY_PATH="$WORK/vulkan/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
    system) ;;
    root)
      for f in "$KIT"/debs/*.deb; do dpkg -x "$f" /; done
      ldconfig ;;
    *) echo "run.sh: --loader $1: use kit, system or root" >&2; exit 1 ;;
  esac
  if [ "$EXPECT" = nvidia ]; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
      if [ -d "$d" ]; then export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"; fi
    done
  fi
}
use_loader "$LOADER"
if [ "$EXPECT" = nvidia ]; then
  # The NVIDIA driver's Vulkan manifest sits outside the loader's search path on the device machine
  # (its name varies: nvidia_icd.json, nvidia_icd.x86_64.json).
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia*.json /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json; do
      if [ -f "$f" ]; then export VK_DRIVER_FILES="$f" VK_ICD_FILENAMES="$f"; break; fi
    done
  fi
  # Vulkan only: no other Dawn backend may answer for the NVIDIA card.
  export GRADMIX_BACKEND="${GRADMIX_BACKEND:-vulkan}"
  # The PyTorch peer must be CUDA: a CPU stand-in would pass the bar's PyTorch lines.
  export GRADMIX_TORCH_REQUIRE_CUDA=1
fi

# The PyTorch peer: a python3 with torch (on a GPU machine, one whose torch sees CUDA), through the
# kit's wrapper that runs it on CUDA when there.
TORCH_PROBE='import torch'
[ "$EXPECT" = nvidia ] && TORCH_PROBE='import torch; assert torch.cuda.is_available()'
TORCH_SAYS='; print(torch.__version__, "CUDA on " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only")'
if [ -z "${GRADMIX_BENCH_PYTHON:-}" ]; then
  for py in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3 python; do
    if command -v "$py" >/dev/null 2>&1 && TORCH_INFO="$("$py" -c "$TORCH_PROBE$TORCH_SAYS" 2>/dev/null)"; then
      mkdir -p "$WORK/bin"
      printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$(command -v "$py")" "$WORK/app/js/peer-torch-cuda.py" > "$WORK/bin/torch-peer"
      chmod +x "$WORK/bin/torch-peer"
      export GRADMIX_BENCH_PYTHON="$WORK/bin/torch-peer"
      say "torch peer: $py, torch $(echo "$TORCH_INFO" | tail -1)"
      break
    fi
  done
  [ -n "${GRADMIX_BENCH_PYTHON:-}" ] || say "no python3 whose torch passes: $TORCH_PROBE (the PyTorch peer is unavailable)"
fi
[ -n "$OUT_DIR" ] && export GRADMIX_TORCH_CUDA_LOG="$OUT_DIR/torch-cuda.jsonl"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$WORK/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export GRADMIX_KIT_MANIFEST="$KIT/kit.json"

if [ -n "$NODE_SCRIPT" ]; then exec "$NODE" "$WORK/app/js/$NODE_SCRIPT" "${args[@]}"; fi
say "node $("$NODE" --version), loader $LOADER (LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}), VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}, torch peer ${GRADMIX_BENCH_PYTHON:-none}"
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>&1 | tee -a "$LOG" || true; fi
export GRADMIX_KIT_LOG_APPEND=1
# Each run's files (part JSON, training runs, checkpoints, autotuning) in a folder of its own,
# removed afterwards unless GRADMIX_KIT_KEEP=1.
RUN="$(mktemp -d "$WORK/run.XXXXXX")"
status=0
"$NODE" "$WORK/app/js/device-run.mjs" --out "$OUT_DIR" --work "$RUN" "${args[@]}" || status=$?
# Exit 2: the adapter check failed. On a GPU machine (nvidia-smi there), as root, with the default
# loader, try the device notes' own recipe once before giving up, so one call does not end on the
# loader alone (the adapter part takes seconds).
if [ "$status" = 2 ] && [ "$LOADER" = kit ] && [ "$LOADER_GIVEN" = 0 ] && [ "$EXPECT" = nvidia ] \
  && [ "$(id -u)" = 0 ] && command -v nvidia-smi >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
  say "no NVIDIA adapter through the kit's libvulkan: trying the device notes' recipe (--loader root: the .deb files into /, ldconfig)"
  LOADER=root
  use_loader root
  say "loader root (LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-})"
  status=0
  "$NODE" "$WORK/app/js/device-run.mjs" --out "$OUT_DIR" --work "$RUN" "${args[@]}" || status=$?
fi
if [ "${GRADMIX_KIT_KEEP:-0}" = 1 ]; then say "kept the run's files in $RUN"; else rm -rf "$RUN"; fi
exit "$status"
