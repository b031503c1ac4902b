import { existsSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { gpuDeviceFound } from "./dist/lib/model/backend.js";

/**
 * Where this machine has no GPU Vulkan driver, Debian's chromium package brings a Vulkan loader
 * with SwiftShader, Vulkan on the CPU, through which Dawn offers a real (if slow) WebGPU adapter:
 * the WebGPU kernel tests run on it. The variables must be set when the test process starts (the
 * dynamic linker finds the loader), hence a project of their own. Mesa's lavapipe does not count
 * as a driver (Dawn refuses it), nor do Mesa's GPU drivers (Chromium installs them) where the
 * kernel offers no GPU device: then they find nothing and Dawn has no adapter.
 */
function softwareVulkan(): Record<string, string> {
  const dir = "/usr/lib/chromium";
  const drivers = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"]
    .flatMap((d) => (existsSync(d) ? readdirSync(d) : []))
    .filter((f) => f.endsWith(".json") && !f.startsWith("lvp_icd"));
  if ((drivers.length && gpuDeviceFound()) || process.env["VK_ICD_FILENAMES"] || process.env["VK_DRIVER_FILES"] || !existsSync(`${dir}/libvulkan.so.1`) || !existsSync(`${dir}/vk_swiftshader_icd.json`)) return {};
  return {
    LD_LIBRARY_PATH: [dir, process.env["LD_LIBRARY_PATH"]].filter(Boolean).join(":"),
    VK_ICD_FILENAMES: `${dir}/vk_swiftshader_icd.json`,
  };
}

const webgpuTests = "tests/webgpu-*.test.ts";

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn worker pools of their own; running files in parallel on 2 cores only thrashes.
    fileParallelism: false,
    projects: [
      { extends: true, test: { name: "main", include: ["tests/**/*.test.ts"], exclude: [webgpuTests] } },
      { extends: true, test: { name: "webgpu", include: [webgpuTests], env: softwareVulkan() } },
    ],
  },
});
