// Drive one notebook through the real Jupyter Notebook UI in a browser and check that every
// memvirt figure draws, in each way a person meets a running kernel:
//
//   1. open the notebook, Run All                         (a fresh kernel)
//   2. reload the page, Run All, kernel NOT restarted     (the page is new, the kernel is not)
//   3. reload again, run only the last figure's cell      (the page must fetch plotly.js itself)
//
// After each step every figure must have an svg.main-svg and plotly's _fullData with the
// expected number of traces. After steps 1 and 2 the notebook must carry plotly.js exactly once
// (so its saved copy draws on its own and stays small).

const KERNEL_READY = () => Boolean(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected());

/** Marks the inlined library in outputs (see src/display/html.ts). */
const LIBRARY_MARKER = "memvirt-plotly-library";

async function openReady(page, timeoutMs) {
  await page.waitForFunction(KERNEL_READY, null, { timeout: timeoutMs, polling: 100 });
  // Never save (the server serves a temporary copy anyway): outputs stay out of any .ipynb.
  return page.evaluate(() => { Jupyter.notebook.set_autosave_interval(0); return Jupyter.notebook.kernel.id; });
}

/** Run cells (all, or the given indices) and wait until none is queued or running. */
async function runCells(page, indices, timeoutMs) {
  await page.evaluate((ix) => { if (ix) Jupyter.notebook.execute_cells(ix); else Jupyter.notebook.execute_all_cells(); }, indices);
  await page.waitForFunction(() => Jupyter.notebook.get_cells().every((c) => c.cell_type !== "code" || c.input_prompt_number !== "*"), null, { timeout: timeoutMs, polling: 200 });
  return page.evaluate(() => Jupyter.notebook.get_cells().flatMap((c, i) => (c.output_area ? c.output_area.outputs : [])
    .filter((o) => o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr"))
    .map((o) => `cell ${i + 1}: ${o.output_type === "error" ? `${o.ename}: ${o.evalue}` : o.text.trim().split("\n")[0]}`)));
}

/** Wait (bounded) for the figures to draw, then describe each one. */
async function figures(page, drawTimeoutMs) {
  await page.waitForFunction(() => {
    const els = [...document.querySelectorAll(".memvirt-figure")];
    return els.length > 0 && els.every((el) => el.querySelector("svg.main-svg") && Array.isArray(el._fullData));
  }, null, { timeout: drawTimeoutMs, polling: 100 }).catch(() => {});
  return page.$$eval(".memvirt-figure", (els) => els.map((el) => {
    const cell = el.closest(".cell");
    return {
      id: el.id,
      cell: cell ? [...document.querySelectorAll("#notebook-container > .cell")].indexOf(cell) : -1,
      expected: Number(el.getAttribute("data-traces")),
      svg: el.querySelectorAll("svg.main-svg").length,
      traces: Array.isArray(el._fullData) ? el._fullData.length : -1,
    };
  }));
}

function judge(figs, expectedCount) {
  const bad = figs.filter((f) => !(f.svg > 0 && f.traces === f.expected));
  const problems = bad.map((f) => `${f.id} (cell ${f.cell + 1}): svg=${f.svg} traces=${f.traces}/${f.expected}`);
  if (expectedCount !== undefined && figs.length !== expectedCount) problems.unshift(`${figs.length} figures in the page, expected ${expectedCount}`);
  return { drawn: figs.length - bad.length, problems };
}

/** How many copies of plotly.js the notebook (as Jupyter would save it) carries, and its size. */
async function notebookCarries(page, marker) {
  return page.evaluate((m) => {
    const text = JSON.stringify(Jupyter.notebook.toJSON());
    return { copies: text.split(m).length - 1, megabytes: text.length / 1e6 };
  }, marker);
}

/**
 * Check one notebook in the Notebook UI served by `server` (see ui-check-server.mjs).
 * Returns { ok, lines } where lines narrate each step.
 *
 * @example
 * const { ok, lines } = await checkNotebookInUi(browser, server, "00-tour");
 */
export async function checkNotebookInUi(browser, server, name, { runSeconds = 90, drawSeconds = 15, singleCell = true } = {}) {
  const lines = [];
  let ok = true;
  const fail = (msg) => { ok = false; lines.push(`FAIL ${name} ${msg}`); };
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  try {
    const page = await context.newPage();
    page.on("dialog", (d) => d.accept().catch(() => {}));
    // Offline machine: anything outside the local server fails fast instead of hanging.
    await page.route((url) => !url.href.startsWith(server.base), (route) => route.abort());

    const t0 = Date.now();
    await page.goto(server.notebookUrl(name), { waitUntil: "load" });
    const kernelId = await openReady(page, 60_000);
    const steps = [
      { label: "Run All", reload: false, cells: null },
      { label: "reload, Run All (same kernel)", reload: true, cells: null },
    ];
    let expectedCount;
    let lastFigureCell = -1;
    for (const step of steps) {
      const ts = Date.now();
      if (step.reload) {
        await page.reload({ waitUntil: "load" });
        const again = await openReady(page, 60_000);
        if (again !== kernelId) { fail(`${step.label}: the page connected to kernel ${again}, not the running ${kernelId}`); return { ok, lines }; }
      }
      const errors = await runCells(page, step.cells, runSeconds * 1000);
      if (errors.length) { fail(`${step.label}: cell errors: ${errors.join(" | ")}`); return { ok, lines }; }
      const figs = await figures(page, drawSeconds * 1000);
      if (figs.length === 0) { fail(`${step.label}: no memvirt figures in the page`); return { ok, lines }; }
      expectedCount ??= figs.length;
      lastFigureCell = figs.at(-1).cell;
      const { drawn, problems } = judge(figs, expectedCount);
      const carried = await notebookCarries(page, LIBRARY_MARKER);
      if (carried.copies !== 1) problems.push(`the notebook carries plotly.js ${carried.copies} times, expected once`);
      if (problems.length) fail(`${step.label}: ${drawn}/${figs.length} figures drew; ${problems.join("; ")}`);
      else lines.push(`ok   ${name} (UI) ${step.label}: ${drawn}/${figs.length} figures drew, plotly.js carried once, notebook ${carried.megabytes.toFixed(1)} MB (${((Date.now() - ts) / 1000).toFixed(1)}s)`);
    }

    if (singleCell && ok) {
      const ts = Date.now();
      await page.reload({ waitUntil: "load" });
      await openReady(page, 60_000);
      const errors = await runCells(page, [lastFigureCell], runSeconds * 1000);
      if (errors.length) fail(`reload, run cell ${lastFigureCell + 1} only: cell errors: ${errors.join(" | ")}`);
      else {
        const figs = await figures(page, drawSeconds * 1000);
        const { drawn, problems } = judge(figs);
        if (figs.length === 0) fail(`reload, run cell ${lastFigureCell + 1} only: no figure appeared`);
        else if (problems.length) fail(`reload, run cell ${lastFigureCell + 1} only: ${drawn}/${figs.length} figures drew; ${problems.join("; ")}`);
        else lines.push(`ok   ${name} (UI) reload, run cell ${lastFigureCell + 1} only: ${drawn}/${figs.length} figures drew (${((Date.now() - ts) / 1000).toFixed(1)}s)`);
      }
    }
    lines.push(`     ${name} (UI) took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  } catch (e) {
    fail(`: ${e.message.split("\n")[0]}`);
  } finally {
    await context.close();
  }
  return { ok, lines };
}
