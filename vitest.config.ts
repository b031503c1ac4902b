import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn worker pools of their own; running files in parallel on 2 cores only thrashes.
    fileParallelism: false,
  },
});
