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
