#!/usr/bin/env node
// Strip outputs from notebooks, so the committed lessons carry only their source: an executed
// notebook holds megabytes of output (plotly.js alone is about 5 MB), and Jupyter's autosave
// writes it into the file you have open. Executed copies belong in reports/ (npm run reproduce).
//
//   strip-notebooks.mjs [--check] [FILE.ipynb ...]     default: notebooks/*.ipynb
//
// Clears every code cell's outputs and execution_count, and the run timings nbclient adds to
// cell metadata (metadata.execution). Rewrites a file only when that changes it, in Jupyter's own
// layout (one-space indent, trailing newline), so a clean notebook stays byte-identical.
// --check changes nothing and exits 1 when a notebook would change.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
const check = argv.includes("--check");
const unknown = argv.find((a) => a.startsWith("--") && a !== "--check");
if (unknown) {
  console.error(`strip-notebooks: unknown option ${unknown} (usage: strip-notebooks.mjs [--check] [FILE.ipynb ...])`);
  process.exit(2);
}
const given = argv.filter((a) => !a.startsWith("--"));
const notebooksDir = path.join(root, "notebooks");
const files = given.length
  ? given
  : fs.readdirSync(notebooksDir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(notebooksDir, f));

let changed = 0;
for (const file of files) {
  const shown = path.relative(process.cwd(), file) || file;
  let text;
  let nb;
  try {
    text = fs.readFileSync(file, "utf8");
    nb = JSON.parse(text);
  } catch (e) {
    console.error(`strip-notebooks: ${shown}: ${e.code === "ENOENT" ? "no such file" : `not a notebook (${e.message})`}`);
    process.exit(2);
  }
  if (!Array.isArray(nb.cells)) {
    console.error(`strip-notebooks: ${shown}: not a notebook (no "cells" list)`);
    process.exit(2);
  }
  const found = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const what = [];
    if (Array.isArray(cell.outputs) && cell.outputs.length) what.push(`${cell.outputs.length} output${cell.outputs.length === 1 ? "" : "s"}`);
    if (cell.execution_count !== null && cell.execution_count !== undefined) what.push(`execution_count ${cell.execution_count}`);
    if (cell.metadata && "execution" in cell.metadata) what.push("run timings");
    if (what.length) found.push(`cell ${i + 1} (${what.join(", ")})`);
    cell.outputs = [];
    cell.execution_count = null;
    if (cell.metadata) delete cell.metadata.execution;
  });
  const stripped = `${JSON.stringify(nb, null, 1)}\n`;
  if (stripped === text) continue;
  changed++;
  if (check) {
    console.error(`${shown}: ${found.length ? found.join("; ") : "layout differs from Jupyter's"}`);
  } else {
    fs.writeFileSync(file, stripped);
    console.log(`stripped ${shown}: ${found.length ? found.join("; ") : "rewritten in Jupyter's layout"}`);
  }
}
if (check && changed) {
  console.error(`${changed} notebook(s) carry outputs; run: npm run strip-notebooks`);
  process.exit(1);
}
if (!check) console.log(changed ? `${changed} of ${files.length} notebook(s) stripped` : `${files.length} notebook(s) already clean`);
