#!/usr/bin/env node
// Execute notebooks headless with the `memvirt` kernel; fail on any cell error.
//
//   run-notebooks.mjs [FRAGMENT ...] [--html] [--dir DIR] [--out DIR]
//
// Executed copies go to reports/NAME.ipynb (git-ignored; --out to change); with --html, also a
// standalone reports/NAME.html whose plots work offline (plotly.js is inlined by memvirt's
// display). --dir runs the notebooks of another folder (default notebooks/). A failing cell is
// reported as the notebook, the cell's number, its source line when known and the real message
// (see cell-failure.mjs); the executed copy up to that cell is kept for a look. A notebook over
// its time budget (30 s) is reported as a failure: lessons must stay quick.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describeCellFailure } from "./cell-failure.mjs";
import { executeNotebook } from "./execute-notebook.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);

function optionValue(name, fallback) {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith("--")) {
    console.error(`memvirt notebooks: ${name} needs a folder`);
    process.exit(2);
  }
  argv.splice(i, 2);
  return path.resolve(value);
}

const notebooksDir = optionValue("--dir", path.join(root, "notebooks"));
const reports = optionValue("--out", path.join(root, "reports"));
const html = argv.includes("--html");
const unknown = argv.find((a) => a.startsWith("--") && a !== "--html");
if (unknown) {
  console.error(`memvirt notebooks: unknown option ${unknown} (usage: run-notebooks.mjs [FRAGMENT ...] [--html] [--dir DIR] [--out DIR])`);
  process.exit(2);
}
const filters = argv.filter((a) => !a.startsWith("--"));
const budgetSeconds = Number(process.env.MEMVIRT_NOTEBOOK_BUDGET_SECONDS ?? 30);
const cellTimeoutSeconds = Math.max(60, budgetSeconds * 4);
if (!fs.existsSync(notebooksDir)) {
  console.error(`memvirt notebooks: --dir ${notebooksDir}: no such folder`);
  process.exit(2);
}
fs.mkdirSync(reports, { recursive: true });
const shownDir = path.relative(process.cwd(), notebooksDir) || ".";

const all = fs.readdirSync(notebooksDir).filter((f) => f.endsWith(".ipynb")).sort();
const chosen = filters.length ? all.filter((f) => filters.some((x) => f.includes(x))) : all;
if (chosen.length === 0) {
  console.error(`memvirt notebooks: no notebook matches ${filters.join(", ") || "*.ipynb"} in ${shownDir}/`);
  process.exit(2);
}

const failures = [];
for (const file of chosen) {
  const name = file.replace(/\.ipynb$/, "");
  const label = path.join(shownDir, file);
  const executed = path.join(reports, `${name}.ipynb`);
  // The kernel runs in the notebooks' folder, as under `npm start`, so relative data paths match.
  const run = await executeNotebook({ input: path.join(notebooksDir, file), output: executed, cwd: notebooksDir, timeoutSeconds: cellTimeoutSeconds });
  if (!run.ok) {
    failures.push(file);
    const nb = readNotebook(executed);
    const [first, ...rest] = describeCellFailure(label, nb, run, { timeoutSeconds: cellTimeoutSeconds });
    console.error([`FAIL ${first}`, ...rest].join("\n"));
    if (nb) console.error(`      executed up to that cell: ${path.relative(process.cwd(), executed)}`);
    continue;
  }
  // Error outputs that did not stop the run (a cell tagged raises-exception, another kernel).
  const errors = cellErrors(readNotebook(executed));
  if (errors.length) {
    failures.push(file);
    console.error(`FAIL ${label}: ${errors.join("; ")}`);
    continue;
  }
  if (run.seconds > budgetSeconds) {
    failures.push(file);
    console.error(`FAIL ${label}: took ${run.seconds.toFixed(1)}s, over the ${budgetSeconds}s budget`);
    continue;
  }
  let note = "";
  if (html) {
    const h = spawnSync("jupyter-nbconvert", ["--to", "html", "--output-dir", reports, "--output", name, executed], { cwd: root, encoding: "utf8" });
    if (h.status !== 0) {
      failures.push(file);
      console.error(`FAIL ${label}: HTML export: ${lastLine(h.stderr) || `exit ${h.status}`}`);
      continue;
    }
    note = `, ${path.relative(process.cwd(), path.join(reports, `${name}.html`))}`;
  }
  console.log(`ok   ${label} (${run.seconds.toFixed(1)}s) → ${path.relative(process.cwd(), executed)}${note}`);
}
if (failures.length) {
  console.error(`${failures.length} notebook(s) failed: ${failures.join(", ")}`);
  process.exit(1);
}

function lastLine(text) {
  return (text ?? "").trim().split("\n").filter(Boolean).at(-1) ?? "";
}

function readNotebook(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function cellErrors(nb) {
  const out = [];
  (nb?.cells ?? []).forEach((cell, i) => {
    for (const o of cell.outputs ?? []) if (o.output_type === "error") out.push(`cell ${i + 1}: ${o.ename}: ${o.evalue}`);
  });
  return out;
}
