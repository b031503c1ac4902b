/** Where a problem is: a file and, when known, the line and column (1-based) of the value at fault. */
export interface Diagnostic {
  file: string;
  line?: number;
  col?: number;
  stage?: string;
  key?: string;
  message: string;
  hint?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line ? `${d.file}:${d.line}:${d.col ?? 1}` : d.file;
  const what = [d.stage && `stage "${d.stage}"`, d.key && `key "${d.key}"`].filter(Boolean).join(", ");
  return `${where}: ${what ? `${what}: ` : ""}${d.message}${d.hint ? `\n  hint: ${d.hint}` : ""}`;
}

/** A pipeline that cannot run as written; carries every problem found, not just the first. */
export class PipelineError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "PipelineError";
  }
}

/** The name a typo most likely meant (edit distance at most a third of its length), for a "did you mean" hint. */
function closest(word: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const name of names) {
    const d = editDistance(word.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** `did you mean "X"? ` to begin a hint with, or nothing. */
export function didYouMean(word: string, names: Iterable<string>): string {
  const name = closest(word, names);
  return name === undefined ? "" : `did you mean "${name}"? `;
}

/** Edits (insert, delete, replace, swap two neighbours) from one word to the other. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
