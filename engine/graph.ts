import { relative } from "node:path";
import type { Pipeline } from "./pipeline.js";

interface Edge {
  from: string;
  to: string;
  label: string;
}

interface Graph {
  stages: { id: string; label: string }[];
  files: { id: string; label: string }[];
  edges: Edge[];
}

function graph(pipeline: Pipeline): Graph {
  const files = new Map<string, string>();
  const edges: Edge[] = [];
  for (const node of pipeline.stages) {
    for (const [input, binding] of Object.entries(node.inputs)) {
      const each = node.eachInput === input ? " (each)" : "";
      if (binding.source === "stage") {
        edges.push({ from: binding.stage, to: node.name, label: `${binding.output} -> ${input}${each}` });
      } else {
        const label = binding.source === "glob" ? binding.pattern : relative(pipeline.dir, binding.path);
        const id = `file_${files.size}`;
        files.set(id, label);
        edges.push({ from: id, to: node.name, label: `${input}${each}` });
      }
    }
  }
  return {
    stages: pipeline.stages.map((n) => ({ id: n.name, label: n.kindName === n.name ? n.name : `${n.name} (${n.kindName})` })),
    files: [...files].map(([id, label]) => ({ id, label })),
    edges,
  };
}

const quote = (s: string): string => JSON.stringify(s);

export function toDot(pipeline: Pipeline): string {
  const g = graph(pipeline);
  const lines = ["digraph pipeline {", "  rankdir=LR;", "  node [shape=box, style=rounded];"];
  for (const s of g.stages) lines.push(`  ${quote(s.id)} [label=${quote(s.label)}];`);
  for (const f of g.files) lines.push(`  ${quote(f.id)} [label=${quote(f.label)}, shape=note];`);
  for (const e of g.edges) lines.push(`  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(e.label)}];`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

export function toMermaid(pipeline: Pipeline): string {
  const g = graph(pipeline);
  const id = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, "_");
  const text = (s: string): string => s.replace(/"/g, "#quot;");
  const lines = ["flowchart LR"];
  for (const s of g.stages) lines.push(`  ${id(s.id)}["${text(s.label)}"]`);
  for (const f of g.files) lines.push(`  ${id(f.id)}[/"${text(f.label)}"/]`);
  for (const e of g.edges) lines.push(`  ${id(e.from)} -->|"${text(e.label)}"| ${id(e.to)}`);
  return `${lines.join("\n")}\n`;
}
