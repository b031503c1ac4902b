#!/usr/bin/env bash
# Issue 16's GPU check as one prepared script, for the device machine (which has no Node):
#   npm ci && npm run build && bash bench/gpu-pack.sh          # here (50 MiB; tried on SwiftShader)
#   device run: carry [".device"], command `bash .device/run 'bash bench/gpu-check.sh'`, timeout_s 540
# 1. our WGSL kernels and a short training against the cpu backend, on the real GPU;
# 2. training throughput, ours on webgpu against PyTorch fp32 on CUDA, with the ratios.
# Each part has its own time cap, so a slow first part still leaves the benchmark its turn.
set -uo pipefail
cd "$(dirname "$0")/.."
echo "== WebGPU kernel tests"
timeout 180 npx vitest run tests/webgpu-kernels.test.ts --reporter=dot || echo "kernel tests: exit $?"
echo "== training throughput (bench/train.ts --gpu)"
timeout 300 node dist/bench/train.js --gpu "$@" || echo "benchmark: exit $?"
