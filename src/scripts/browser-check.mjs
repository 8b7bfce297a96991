#!/usr/bin/env node
// Real-browser check in headless Chromium (Debian's, driven by playwright-core): every memvirt
// figure must really draw (an SVG exists and plotly holds the expected number of traces).
//
//   1. exports: open each reports/NAME.html (made by run-notebooks.mjs --html); screenshot to
//      reports/NAME.png.
//   2. the real Notebook UI: a private jupyter-notebook on a temporary copy of notebooks/ (see
//      ui-check-server.mjs); for each notebook, Run All, reload and Run All on the same kernel,
//      reload and run one figure cell (see notebook-ui-check.mjs).
//
//   browser-check.mjs [NAME ...] [--ui=NAME,NAME | --ui=all | --no-ui] [--no-exports]
//     NAME ...   notebooks whose exports to check (default: every notebook in notebooks/)
//     --ui=...   notebooks to drive in the UI (default: 00-tour and 03-ballooning, the two with
//                figures in most cells; each costs 20-35 s of the test budget on 2 cores)
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { startUiCheckServer } from "./ui-check-server.mjs";
import { checkNotebookInUi } from "./notebook-ui-check.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
const positional = argv.filter((a) => !a.startsWith("--"));
const allNotebooks = () => fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort().map((f) => f.replace(/\.ipynb$/, ""));
const names = positional.length ? positional : allNotebooks();
const uiOption = argv.find((a) => a.startsWith("--ui="));
const DEFAULT_UI = ["00-tour", "03-ballooning"];
const uiList = uiOption ? uiOption.slice("--ui=".length) : DEFAULT_UI.join(",");
const uiNames = argv.includes("--no-ui") ? [] : uiList === "all" ? allNotebooks() : uiList.split(",").filter(Boolean);
const checkExports = !argv.includes("--no-exports");
const executablePath = process.env.MEMVIRT_CHROMIUM ?? "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // The machine is offline: keep Chromium from reaching for the network at start.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = 0;
try {
  // A figure whose output comes before the library's (a re-run cell above the one that carried
  // plotly.js) must still draw once the library loads.
  {
    const { createRequire } = await import("node:module");
    const memvirt = createRequire(import.meta.url)(path.join(root, "dist", "index.js"));
    const fig = memvirt.figure([{ type: "scatter", y: [1, 3, 2] }, { type: "bar", y: [2, 1, 2] }]);
    const html = `<html><body>${memvirt.figureHtml(fig, "early")}${memvirt.plotlyLibraryHtml()}</body></html>`;
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: "load" });
    const traces = await page.$eval("#early", (el) => (el.querySelector("svg.main-svg") && Array.isArray(el._fullData) ? el._fullData.length : -1));
    if (traces !== 2) { failed++; console.error(`FAIL figure-before-library: drew ${traces} traces, expected 2`); }
    else console.log("ok   a figure displayed before plotly.js loaded still draws (2 traces)");
    await page.close();
  }
  for (const name of checkExports ? names : []) {
    const file = path.join(root, "reports", `${name}.html`);
    if (!fs.existsSync(file)) {
      console.error(`FAIL ${name}: ${path.relative(root, file)} does not exist (run npm run reproduce first)`);
      failed++;
      continue;
    }
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // CDN scripts in nbconvert's template (require.js, MathJax) fail offline; that is expected.
    await page.route(/^https?:/, (route) => route.abort());
    await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: 60_000 });
    const expected = await page.$$eval(".memvirt-figure", (els) => els.map((el) => ({ id: el.id, traces: Number(el.getAttribute("data-traces")) })));
    if (expected.length === 0) {
      console.error(`FAIL ${name}: no memvirt figures in the page`);
      failed++;
      continue;
    }
    await page.waitForFunction((n) => document.querySelectorAll(".memvirt-figure svg.main-svg").length > 0 && [...document.querySelectorAll(".memvirt-figure")].every((el) => el._fullData) && n > 0, expected.length, { timeout: 30_000 }).catch(() => {});
    const drawn = await page.$$eval(".memvirt-figure", (els) => els.map((el) => ({
      id: el.id,
      svg: el.querySelectorAll("svg.main-svg").length,
      traces: Array.isArray(el._fullData) ? el._fullData.length : -1,
      // Rendered trace groups in the plot layers (scatter, bars, heatmaps...).
      rendered: el.querySelectorAll(".cartesianlayer .trace, .heatmaplayer .hm, .imagelayer image").length,
    })));
    const failedBefore = failed;
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i];
      const d = drawn[i];
      const ok = d.svg > 0 && d.traces === e.traces && (e.traces === 0 || d.rendered > 0);
      if (!ok) {
        failed++;
        console.error(`FAIL ${name} ${e.id}: svg=${d.svg} traces=${d.traces}/${e.traces} rendered=${d.rendered}`);
      }
    }
    const shot = path.join(root, "reports", `${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    const problems = pageErrors.filter((m) => !/require|MathJax|define/.test(m));
    if (problems.length) console.error(`note ${name}: page errors: ${problems.join(" | ")}`);
    console.log(`${failed > failedBefore ? "FAIL" : "ok  "} ${name}: ${expected.length} figures drew (${expected.map((e) => e.traces).join("+")} traces); screenshot ${path.relative(root, shot)}`);
    await page.close();
  }
  if (uiNames.length) {
    const t0 = Date.now();
    const server = await startUiCheckServer({ root });
    // Interrupted (Ctrl-C, a CI timeout): still stop the server and its kernels.
    const stop = (signal) => { server.close().finally(() => process.exit(signal === "SIGINT" ? 130 : 143)); };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      console.log(`     Notebook UI: jupyter-notebook on ${server.base} serving a temporary copy of notebooks/ (${((Date.now() - t0) / 1000).toFixed(1)}s to start)`);
      for (const [i, name] of uiNames.entries()) {
        // The one-cell step tests the same page-side fetch in every notebook: once is enough.
        const { ok, lines } = await checkNotebookInUi(browser, server, name, { singleCell: i === 0 });
        for (const line of lines) (line.startsWith("FAIL") ? console.error : console.log)(line);
        if (!ok) failed++;
      }
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      await server.close();
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
