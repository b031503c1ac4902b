#!/usr/bin/env bash
# Packs the project for bench/gpu-check.sh on the device machine: ../shared/tools/device-pack with
# the packages that check never loads set aside (ffmpeg's binary, the compiler and the linter:
# with them the pack is 68 MiB of the device tool's 64), put back afterwards whatever happens.
#   npm ci && npm run build && bash bench/gpu-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
aside=$(mktemp -d)
unneeded=(@ffmpeg-installer typescript eslint @typescript-eslint @eslint)
restore() { for p in "${unneeded[@]}"; do [ -e "$aside/$p" ] && mv "$aside/$p" "node_modules/$p"; done; rmdir "$aside"; }
trap restore EXIT
for p in "${unneeded[@]}"; do [ -e "node_modules/$p" ] && mv "node_modules/$p" "$aside/$p"; done
bash ../shared/tools/device-pack
