#!/usr/bin/env node
// Developer helper: turn a "percent format" script into a notebook without outputs.
//
//   node src/scripts/percent-to-ipynb.mjs lesson.txt notebooks/NN-name.ipynb
//
// Cells start with a line `// %% [markdown]` or `// %%`; markdown lines may keep a leading
// `// ` which is removed. Handy for writing lessons in an editor, then committing the .ipynb.
import * as fs from "node:fs";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: percent-to-ipynb.mjs INPUT OUTPUT.ipynb");
  process.exit(2);
}
const cells = [];
let current;
for (const line of fs.readFileSync(input, "utf8").split("\n")) {
  const m = /^\/\/ %%( \[markdown\])?\s*$/.exec(line);
  if (m) {
    current = { kind: m[1] ? "markdown" : "code", lines: [] };
    cells.push(current);
    continue;
  }
  if (!current) continue;
  current.lines.push(current.kind === "markdown" ? line.replace(/^\/\/ ?/, "") : line);
}
const nb = {
  cells: cells.map((c) => {
    while (c.lines.length && c.lines[c.lines.length - 1].trim() === "") c.lines.pop();
    while (c.lines.length && c.lines[0].trim() === "") c.lines.shift();
    const source = c.lines.map((l, i) => (i < c.lines.length - 1 ? `${l}\n` : l));
    return c.kind === "markdown"
      ? { cell_type: "markdown", metadata: {}, source }
      : { cell_type: "code", execution_count: null, metadata: {}, outputs: [], source };
  }),
  metadata: {
    kernelspec: { display_name: "TypeScript (memvirt)", language: "typescript", name: "memvirt" },
    language_info: { codemirror_mode: { mode: "typescript", name: "javascript", typescript: true }, file_extension: ".ts", mimetype: "text/typescript", name: "typescript", version: "5.0.4" },
  },
  nbformat: 4,
  nbformat_minor: 4,
};
fs.writeFileSync(output, `${JSON.stringify(nb, null, 1)}\n`);
console.log(`wrote ${output} (${nb.cells.length} cells)`);
