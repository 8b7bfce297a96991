/**
 * Pure HTML builders for notebook output: figures, the inlined plotly.js library, tables,
 * explain views and progress bars. Nothing here touches a kernel or a browser.
 *
 * The machines are offline, so plotly.js (the minified build, `plotly.js-dist-min`) is inlined in
 * an output, once per `notebookDisplay()` (see notebook.ts), not in every figure. Whether a page
 * has it is decided in the page: every figure output carries a small loader,
 *
 *   figure output ─▶ Plotly in the page? ── yes ─▶ draw now
 *                                       └── no ──▶ queue draw() on window.__memvirtPlotQueue;
 *                                                  still missing a moment later (no library
 *                                                  output further down the page either)?
 *                                                  ├─ a classic Notebook kernel is connected:
 *                                                  │  ask it once for the library (the page was
 *                                                  │  opened or reloaded while the kernel kept
 *                                                  │  running, so it never saw the copy sent)
 *                                                  └─ otherwise: a note in the figure saying what
 *                                                     to run
 *   library output ─▶ load plotly.js ─▶ run every queued draw(), then draw directly from now on
 *
 * so a figure displayed before the library has loaded (a re-run cell above the one that carried
 * it, a reloaded page) still draws.
 */
import * as fs from "node:fs";
import type { Figure } from "./figure";

/**
 * Escape text for HTML element content and attribute values.
 * @internal
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/** Make JSON safe inside a <script> element. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/**
 * What the page asks the kernel to run (tslab compiles it as TypeScript): the sender that
 * notebookDisplay() registers under this same name (kept out of the package's exports; the test
 * "page and kernel together" fails if the two names part).
 */
const PLOTLY_REQUEST_CODE = "(globalThis as any).__memvirtSendPlotly?.()";

/** How long a figure waits for a library output further down the page before asking for it. */
const LIBRARY_WAIT_MS = 400;

const NOTE_NO_KERNEL = "plotly.js is not loaded in this page. Run the notebook's first cell (the one that calls notebookDisplay(tslab)) again, then this cell.";
const NOTE_LOADING = "Loading plotly.js from the kernel…";

/**
 * The loader a figure output runs (a function expression taking the figure's element id). Plain
 * ES5 so it runs in any notebook front end; kept small since every figure output carries it.
 */
const FIGURE_LOADER = `function (id) {
  var w = window, doc = document;
  function ready() { return !!(w.Plotly && w.Plotly.newPlot); }
  function notes(text) {
    var el = doc.getElementById(id);
    if (!el || ready()) return;
    var n = doc.getElementById(id + "-note");
    if (!n) { n = doc.createElement("p"); n.id = id + "-note"; n.className = "memvirt-figure-note"; el.appendChild(n); }
    n.textContent = text;
    var all = doc.getElementsByClassName("memvirt-figure-note");
    for (var i = 0; i < all.length; i++) all[i].textContent = text;
  }
  function draw() {
    var el = doc.getElementById(id);
    if (!el) return;
    var n = doc.getElementById(id + "-note");
    if (n) n.parentNode.removeChild(n);
    var spec = JSON.parse(doc.getElementById(id + "-spec").textContent);
    w.Plotly.newPlot(el, spec.data, spec.layout, spec.config);
  }
  function request(kernel) {
    notes(${JSON.stringify(NOTE_LOADING)});
    if (w.__memvirtPlotlyRequested) return;
    w.__memvirtPlotlyRequested = true;
    kernel.execute(${JSON.stringify(PLOTLY_REQUEST_CODE)}, {
      iopub: { output: function (msg) {
        var data = (msg.content && msg.content.data) || {};
        var js = data["text/javascript"] || data["application/javascript"];
        if (!js || ready()) return;
        var s = doc.createElement("script");
        s.text = js;
        doc.head.appendChild(s);
      } },
      shell: { reply: function () {
        setTimeout(function () {
          w.__memvirtPlotlyRequested = false;
          if (!ready()) notes(${JSON.stringify(NOTE_NO_KERNEL)});
        }, 1000);
      } }
    }, { silent: false, store_history: false });
  }
  if (ready()) { draw(); return; }
  (w.__memvirtPlotQueue = w.__memvirtPlotQueue || []).push(draw);
  var tries = 0;
  setTimeout(function missing() {
    if (ready()) return;
    var kernel = w.Jupyter && w.Jupyter.notebook && w.Jupyter.notebook.kernel;
    if (kernel && typeof kernel.execute === "function" && kernel.is_connected && kernel.is_connected()) { request(kernel); return; }
    if (kernel && ++tries < 60) { setTimeout(missing, 500); return; }
    notes(${JSON.stringify(NOTE_NO_KERNEL)});
  }, ${LIBRARY_WAIT_MS});
}`;

/**
 * HTML for one figure: a div, its spec as JSON, and a loader that draws it now, or once
 * plotly.js has loaded (fetching it from the kernel when the page lacks it).
 *
 * @internal
 * @example
 * figureHtml(figure([{ y: [1, 2] }]), "memvirt-fig-1");
 */
export function figureHtml(fig: Figure, id: string): string {
  const height = typeof fig.layout.height === "number" ? fig.layout.height : 420;
  return [
    `<div id="${escapeHtml(id)}" class="memvirt-figure" data-traces="${fig.data.length}" style="width:100%;min-height:${height}px"></div>`,
    `<script type="application/json" id="${escapeHtml(id)}-spec">${scriptSafeJson(fig.toJSON())}</script>`,
    `<script>(${FIGURE_LOADER})(${JSON.stringify(id)});</script>`,
  ].join("\n");
}

let plotlySource: string | undefined;

/** The version of plotly.js memvirt inlines (its `plotly.js-dist-min` package). */
function plotlyVersion(): string {
  return (require("plotly.js-dist-min/package.json") as { version: string }).version;
}

/**
 * plotly.js (minified) as a script, followed by code that draws every figure queued before it
 * loaded. Evaluating it twice in one page is harmless (the library loads once).
 *
 * @internal
 * @example
 * plotlyLibraryScript().length > 1e6 // true: the whole library
 */
export function plotlyLibraryScript(): string {
  if (plotlySource === undefined) {
    // A literal "</script" inside the library would end the inline element early.
    plotlySource = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8").replace(/<\/script/gi, "<\\/script");
  }
  return [
    `if(!window.Plotly){${plotlySource}\n}`,
    `(function(){var q=window.__memvirtPlotQueue;window.__memvirtPlotQueue={push:function(f){f();}};if(Array.isArray(q)){for(var i=0;i<q.length;i++){try{q[i]();}catch(e){console.error(e);}}}})();`,
  ].join("\n");
}

/**
 * The plotly.js library as inline HTML ({@link plotlyLibraryScript} in a script element marked
 * `data-memvirt-plotly-library` with the version). Include it once per notebook.
 *
 * @internal
 * @example
 * plotlyLibraryHtml().startsWith('<script data-memvirt-plotly-library="4.1.1">') // true
 */
export function plotlyLibraryHtml(): string {
  return `<script data-memvirt-plotly-library="${escapeHtml(plotlyVersion())}">${plotlyLibraryScript()}</script>`;
}

/**
 * The parts of an arquero table rendering uses.
 * @internal
 */
export interface HtmlTable {
  numRows(): number;
  numCols(): number;
  toHTML(options?: { limit?: number }): string;
}

/**
 * An arquero table as HTML, at most `maxRows` rows, then a "… N more rows" line.
 *
 * @internal
 * @example
 * tableHtml(aq.table({ a: [1, 2, 3] }), 2) // ...<p>… 1 more row</p>
 */
export function tableHtml(table: HtmlTable, maxRows = 20): string {
  const rows = table.numRows();
  const more = rows - Math.min(rows, maxRows);
  const note = more > 0 ? `<p class="memvirt-more">… ${more.toLocaleString("en-US")} more row${more === 1 ? "" : "s"} (${rows.toLocaleString("en-US")} × ${table.numCols()})</p>` : "";
  return `<div class="memvirt-table">${table.toHTML({ limit: maxRows })}${note}</div>`;
}

/**
 * An explain view: monospace, as OSTEP's simulators print it.
 *
 * @internal
 * @example
 * explainHtml("walk: 24 references")
 */
export function explainHtml(text: string): string {
  return `<pre class="memvirt-explain" style="font-size:12px;line-height:1.35">${escapeHtml(text)}</pre>`;
}

/**
 * A progress bar as HTML, for an updating notebook display.
 *
 * @internal
 * @example
 * progressHtml("simulating", 30, 120)
 */
export function progressHtml(label: string, done: number, total: number): string {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return `<div class="memvirt-progress"><progress value="${done}" max="${total}" style="width:320px"></progress> ${escapeHtml(label)}: ${pct.toFixed(0)}% (${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")})</div>`;
}
