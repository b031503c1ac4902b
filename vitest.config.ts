import { existsSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

/**
 * Where this machine has no Vulkan loader of its own (no GPU driver), Debian's chromium package
 * brings one with SwiftShader, Vulkan on the CPU, through which Dawn offers a real (if slow)
 * WebGPU adapter: the WebGPU kernel tests run on it. The variables must be set when the test
 * process starts (the loader is found by the dynamic linker), hence a project of their own.
 */
function softwareVulkan(): Record<string, string> {
  const dir = "/usr/lib/chromium";
  const systemLoader = (() => {
    try {
      return readFileSync("/etc/ld.so.cache").includes("libvulkan.so.1");
    } catch {
      return false;
    }
  })();
  if (systemLoader || !existsSync(`${dir}/libvulkan.so.1`) || !existsSync(`${dir}/vk_swiftshader_icd.json`)) return {};
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
