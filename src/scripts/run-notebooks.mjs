#!/usr/bin/env node
// Execute notebooks headless with the `memvirt` kernel; fail on any cell error.
//
//   run-notebooks.mjs [FRAGMENT ...] [--html]
//
// Executed copies go to reports/NAME.ipynb (git-ignored); with --html, also a standalone
// reports/NAME.html whose plots work offline (plotly.js is inlined by memvirt's display).
// A notebook over its time budget (30 s) is reported as a failure: lessons must stay quick.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
const html = argv.includes("--html");
const filters = argv.filter((a) => !a.startsWith("--"));
const budgetSeconds = Number(process.env.MEMVIRT_NOTEBOOK_BUDGET_SECONDS ?? 30);
const notebooksDir = path.join(root, "notebooks");
const reports = path.join(root, "reports");
fs.mkdirSync(reports, { recursive: true });

const all = fs.readdirSync(notebooksDir).filter((f) => f.endsWith(".ipynb")).sort();
const chosen = filters.length ? all.filter((f) => filters.some((x) => f.includes(x))) : all;
if (chosen.length === 0) {
  console.error(`memvirt notebooks: no notebook matches ${filters.join(", ")} in notebooks/`);
  process.exit(2);
}

const failures = [];
for (const file of chosen) {
  const name = file.replace(/\.ipynb$/, "");
  const t0 = Date.now();
  // The kernel runs in notebooks/, as under `npm start`, so relative data paths match.
  const r = spawnSync("jupyter-nbconvert", [
    "--to", "notebook", "--execute",
    "--ExecutePreprocessor.kernel_name=memvirt",
    `--ExecutePreprocessor.timeout=${Math.max(60, budgetSeconds * 4)}`,
    "--output-dir", reports, "--output", name,
    path.join(notebooksDir, file),
  ], { cwd: notebooksDir, encoding: "utf8" });
  const seconds = (Date.now() - t0) / 1000;
  if (r.status !== 0) {
    failures.push(file);
    console.error(`FAIL ${file} (${seconds.toFixed(1)}s)\n${tail(r.stderr, 60)}`);
    continue;
  }
  const errors = cellErrors(path.join(reports, `${name}.ipynb`));
  if (errors.length) {
    failures.push(file);
    console.error(`FAIL ${file}: ${errors.join("; ")}`);
    continue;
  }
  if (seconds > budgetSeconds) {
    failures.push(file);
    console.error(`FAIL ${file}: took ${seconds.toFixed(1)}s, over the ${budgetSeconds}s budget`);
    continue;
  }
  let note = "";
  if (html) {
    const h = spawnSync("jupyter-nbconvert", ["--to", "html", "--output-dir", reports, "--output", name, path.join(reports, `${name}.ipynb`)], { cwd: root, encoding: "utf8" });
    if (h.status !== 0) {
      failures.push(file);
      console.error(`FAIL ${file}: HTML export\n${tail(h.stderr, 20)}`);
      continue;
    }
    note = `, reports/${name}.html`;
  }
  console.log(`ok   ${file} (${seconds.toFixed(1)}s) → reports/${name}.ipynb${note}`);
}
if (failures.length) {
  console.error(`${failures.length} notebook(s) failed: ${failures.join(", ")}`);
  process.exit(1);
}

function tail(text, lines) {
  return (text ?? "").trim().split("\n").slice(-lines).join("\n");
}

// nbconvert stops on errors already; this also catches error outputs from cells tagged to continue.
function cellErrors(file) {
  const nb = JSON.parse(fs.readFileSync(file, "utf8"));
  const out = [];
  nb.cells.forEach((cell, i) => {
    for (const o of cell.outputs ?? []) if (o.output_type === "error") out.push(`cell ${i + 1}: ${o.ename}: ${o.evalue}`);
  });
  return out;
}
