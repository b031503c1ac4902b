import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const SCRIPT = resolve(".ci/slurm");

function clusterUp(): boolean {
  const r = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" });
  return r.status === 0 && /^(idle|mixed|allocated)/m.test(r.stdout);
}

/**
 * A real SLURM cluster for the tests: the one running here, or a single-node one started from
 * what is installed (`.ci/slurm up --no-install`; `.ci/run` installs it). `why` says what is
 * missing when there is none; `stop` stops only what was started here.
 */
export function slurmCluster(): { available: boolean; why?: string; stop: () => void } {
  const nothing = (): void => {};
  if (clusterUp()) return { available: true, stop: nothing };
  if (process.getuid?.() !== 0) return { available: false, why: "no SLURM cluster is running and starting one needs root (run .ci/slurm up as root)", stop: nothing };
  const up = spawnSync(SCRIPT, ["up", "--no-install"], { encoding: "utf8" });
  if (up.status !== 0 || !clusterUp()) {
    return { available: false, why: `no SLURM cluster: ${(up.stderr || up.stdout).trim() || "it did not start"} (.ci/run installs and starts one)`, stop: nothing };
  }
  return { available: true, stop: () => void spawnSync(SCRIPT, ["down"]) };
}

/** The jobs in the queue whose script lies under `dir` (a test's workspace): `ID|STATE`. */
export function queuedJobs(dir: string): string[] {
  const r = spawnSync("squeue", ["-h", "-r", "-o", "%i|%T|%o"], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.includes(`${dir}/`)).map((l) => l.split("|").slice(0, 2).join("|"));
}
