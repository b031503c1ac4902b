import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PipelineError } from "../dist/engine/diagnostics.js";
import { canonicalJson } from "../dist/engine/hash.js";
import { loadPipeline } from "../dist/engine/pipeline.js";
import { lcg } from "./helpers/video-stage.js";
import { chainPipeline, workspace } from "./helpers/workspace.js";

const VALID = chainPipeline({ seed: 3, count: 4, base: 2, max: 100, totalParams: "{ scale: 2 }" });

/** Pieces a hostile or careless edit puts into a pipeline file. */
const FRAGMENTS = [
  "__proto__: { polluted: 1 }", "constructor: { x: 1 }", "prototype: 1", "__proto__:", "  __proto__: { count: 9 }",
  "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "x: *nowhere", "&anchor", "*alias", "!!binary", "!!js/function 'f'", "? [complex, key]\n: v",
  "1e309", "-.inf", ".nan", "-1", "0x10", "null", "~", "[]", "{}", "\"\"", "'", "\"", "{", "}", "[", "]", ":", "- ", "\t", "#",
  "{ glob: \"../../*\" }", "{ file: /etc/passwd }", "numbers.values", "nosuch.output", "kind: numbers", "kind: __proto__",
];

function mutate(text: string, next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const lines = text.split("\n");
  const at = Math.floor(next() * lines.length);
  const indent = " ".repeat(pick([0, 2, 4, 6]));
  switch (Math.floor(next() * 7)) {
    case 0: lines.splice(at, 0, `${indent}${pick(FRAGMENTS)}`); break; // a line
    case 1: lines[at] = `${lines[at]!.replace(/:.*$/, ":")} ${pick(FRAGMENTS)}`; break; // a value
    case 2: lines.splice(at, 1); break; // a lost line
    case 3: lines.splice(at, 0, lines[Math.floor(next() * lines.length)]!); break; // a repeated line
    case 4: { // a character
      const line = lines[at]!;
      const i = Math.floor(next() * (line.length + 1));
      lines[at] = line.slice(0, i) + pick([":", "{", "}", "[", "]", ",", "&", "*", "!", "'", "\"", " ", "\t", "-", "#", "a", "0"]) + line.slice(i + 1);
      break;
    }
    case 5: lines[at] = lines[at]!.replace(/\d+/, pick(["-1", "1e309", "2.5", "99999999999999999999", ".inf", "null", "\"3\""])); break; // a number
    default: lines[at] = lines[at]!.replace(/^(\s*)\w+/, `$1${pick(["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"])}`); // a key
  }
  return lines.join("\n");
}

describe("the pipeline loader under random edits", () => {
  it("never throws anything but a pipeline error whose every problem names the file and line (or the --set flag); a file it accepts can be keyed", async () => {
    const dir = workspace("");
    const file = join(dir, "pipeline.yaml");
    const next = lcg(2026);
    const outcomes = { valid: 0, invalid: 0 };
    const sets = ["__proto__.x=1", "constructor.x=1", "square.__proto__.y=2", "seed=-1", "seed=1e309", "square.offset=.nan", "numbers.count=3"];
    for (let i = 0; i < 300; i++) {
      let text = VALID;
      for (let m = 1 + Math.floor(next() * 3); m > 0; m--) text = mutate(text, next);
      const prefix = `stage_paths: [${JSON.stringify(join(process.cwd(), "dist/tests/fixtures/stages"))}]\n`;
      writeFileSync(file, prefix + text);
      const set = next() < 0.2 ? [sets[Math.floor(next() * sets.length)]!] : [];
      const context = `mutation ${i}, --set ${set.join(" ")}:\n${text}`;
      try {
        const pipeline = await loadPipeline(file, { set });
        for (const stage of pipeline.stages) expect(() => canonicalJson(stage.params), context).not.toThrow();
        expect(Object.getPrototypeOf({}).polluted, context).toBeUndefined();
        outcomes.valid++;
      } catch (err) {
        expect(err, `${context}\n${(err as Error).stack}`).toBeInstanceOf(PipelineError);
        for (const d of (err as PipelineError).diagnostics) {
          const named = d.file.startsWith("--set ") || (d.file === file && d.line !== undefined);
          expect(named, `${context}\n${(err as Error).message}`).toBe(true);
        }
        outcomes.invalid++;
      }
    }
    // Both sides were exercised: some edits are harmless, most are not.
    expect(outcomes.valid).toBeGreaterThan(10);
    expect(outcomes.invalid).toBeGreaterThan(100);
  });
});
