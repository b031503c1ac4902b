/**
 * The pieces of the report page: escaping, Markdown with its images inlined, tables, the page's
 * frame and style. Everything ends up in one file: no script, no stylesheet, no image is fetched.
 */
import { readFileSync } from "node:fs";
import { Marked } from "marked";

export const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function dataUri(path: string, mime: string): string {
  return `data:${mime};base64,${readFileSync(path).toString("base64")}`;
}

/**
 * Markdown as HTML. An image is looked up by its file name among the artifact's own files and
 * inlined; one that is not there becomes its alt text (a link would make the page fetch it).
 */
export function markdown(text: string, images: Map<string, string>, used: Set<string>): string {
  const marked = new Marked({
    renderer: {
      image({ href, text: alt }) {
        const file = images.get(href.split("/").at(-1) ?? href);
        if (!file) return `<em>(${esc(alt)}: not among this output's files)</em>`;
        used.add(file);
        return `<img src="${dataUri(file, "image/png")}" alt="${esc(alt)}">`;
      },
      // Raw HTML in a stage's Markdown is shown as text: the page runs nothing it did not write.
      html({ text: raw }) {
        return esc(raw);
      },
    },
  });
  // Wide tables scroll inside their own box instead of widening the page.
  return `<div class="md">${(marked.parse(text, { async: false }) as string).replace(/<table>/g, '<div class="scroll"><table>').replace(/<\/table>/g, "</table></div>")}</div>`;
}

export function table(head: string[], rows: string[][], className = ""): string {
  return `<div class="scroll"><table${className ? ` class="${className}"` : ""}><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
    .join("")}</tbody></table></div>`;
}

/** Blocks side by side, one per run, that wrap under each other on a narrow screen. */
export function sideBySide(blocks: { label: string; body: string }[]): string {
  if (blocks.length === 1) return blocks[0]!.body;
  return `<div class="runs">${blocks.map((b) => `<div class="run"><div class="run-label">${esc(b.label)}</div>${b.body}</div>`).join("")}</div>`;
}

const STYLE = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#fff}
main{max-width:1400px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.25rem;margin:1.6em 0 .4em;border-bottom:1px solid #dde2ea;padding-bottom:.2em}
h3{font-size:1.05rem;margin:1em 0 .3em}
.muted{color:#5b6678}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5em 0;font-size:.9rem}
th,td{border:1px solid #dde2ea;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.up,.down{font-weight:600}
.md h1{font-size:1.2rem}.md h2{font-size:1.05rem}.md h3{font-size:1rem}
img,svg{max-width:100%;height:auto}
.runs{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:16px}
.run{min-width:0}
.run-label{font-weight:600;margin-bottom:4px}
.figure{min-width:0}
.graph{display:flex;gap:12px;overflow-x:auto;padding-bottom:6px}
.level{display:flex;flex-direction:column;gap:8px;min-width:150px}
.stage{border:1px solid #c9d1dc;border-radius:6px;padding:6px 8px;font-size:.85rem;background:#fff}
.stage b{display:block}
.chip{display:inline-block;border-radius:4px;padding:0 5px;margin:1px 0;font-size:.8rem}
.ran{background:#fde7c8}.cached{background:#d5f0dc}.failed{background:#f9d0cc}.mixed{background:#e6e0f8}.absent{background:#eceff3}
.legend span{margin-right:10px}
nav a{margin-right:10px;white-space:nowrap}
`;

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}
