// The lint CI runs (npm run lint): two rules that types alone do not enforce. The engine reports
// through its loggers only (a stray console.log breaks --json and the progress display), and no
// promise is left floating (its rejection would surface nowhere, or crash a worker).
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "schemas/"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: { allowDefaultProject: ["*.js", "vitest.config.ts"] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: { "@typescript-eslint/no-floating-promises": "error" },
  },
  {
    files: ["engine/**/*.ts"],
    // console-capture.ts saves and replaces console.* itself.
    ignores: ["engine/cli.ts", "engine/loggers/**", "engine/console-capture.ts"],
    rules: { "no-console": "error" },
  },
);
