/**
 * Pure HTML builders for notebook output: figures, the inlined plotly.js library, tables,
 * explain views and progress bars. Nothing here touches a kernel or a browser.
 *
 * How figures and the library meet in the page (the machines are offline, so no CDN):
 *
 *   figure output ──▶ Plotly loaded? ── yes ──▶ draw now
 *                                  └── no ───▶ push draw() on window.__memvirtPlotQueue
 *   library output ─▶ load plotly.js ─▶ run every queued draw(), then draw directly from now on
 *
 * so a figure displayed before the library has loaded (e.g. a re-run cell above the cell that
 * carried the library) still draws.
 */
import * as fs from "node:fs";
import type { Figure } from "./figure";

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/** Make JSON safe inside a <script> element. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/**
 * HTML for one figure: a div, its spec as JSON, and a script that draws it now or once
 * plotly.js has loaded.
 *
 * @example
 * figureHtml(figure([{ y: [1, 2] }]), "memvirt-fig-1");
 */
export function figureHtml(fig: Figure, id: string): string {
  const height = typeof fig.layout.height === "number" ? fig.layout.height : 420;
  return [
    `<div id="${escapeHtml(id)}" class="memvirt-figure" data-traces="${fig.data.length}" style="width:100%;min-height:${height}px"></div>`,
    `<script type="application/json" id="${escapeHtml(id)}-spec">${scriptSafeJson(fig.toJSON())}</script>`,
    `<script>(function(){var id=${JSON.stringify(id)};function draw(){var el=document.getElementById(id);var spec=JSON.parse(document.getElementById(id+"-spec").textContent);window.Plotly.newPlot(el,spec.data,spec.layout,spec.config);}`,
    `if(window.Plotly&&window.Plotly.newPlot){draw();}else{(window.__memvirtPlotQueue=window.__memvirtPlotQueue||[]).push(draw);}})();</script>`,
  ].join("\n");
}

let plotlySource: string | undefined;

/**
 * The plotly.js library (from the `plotly.js-dist` package) as an inline script, followed by a
 * script that draws every figure queued before it loaded. Include it once per notebook.
 *
 * @example
 * plotlyLibraryHtml().length > 1e6 // true: the whole library, inlined
 */
export function plotlyLibraryHtml(): string {
  if (plotlySource === undefined) {
    const file = require.resolve("plotly.js-dist/plotly.js");
    // A literal "</script" inside the library would end the inline element early.
    plotlySource = fs.readFileSync(file, "utf8").replace(/<\/script/gi, "<\\/script");
  }
  return [
    `<script>if(!window.Plotly){${plotlySource}\n}</script>`,
    `<script>(function(){var q=window.__memvirtPlotQueue;window.__memvirtPlotQueue={push:function(f){f();}};if(Array.isArray(q)){for(var i=0;i<q.length;i++){try{q[i]();}catch(e){console.error(e);}}}})();</script>`,
  ].join("\n");
}

/** The parts of an arquero table rendering uses. */
export interface HtmlTable {
  numRows(): number;
  numCols(): number;
  toHTML(options?: { limit?: number }): string;
}

/**
 * An arquero table as HTML, at most `maxRows` rows, then a "… N more rows" line.
 *
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
 * @example
 * explainHtml("walk: 24 references")
 */
export function explainHtml(text: string): string {
  return `<pre class="memvirt-explain" style="font-size:12px;line-height:1.35">${escapeHtml(text)}</pre>`;
}

/**
 * A progress bar as HTML, for an updating notebook display.
 *
 * @example
 * progressHtml("simulating", 30, 120)
 */
export function progressHtml(label: string, done: number, total: number): string {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return `<div class="memvirt-progress"><progress value="${done}" max="${total}" style="width:320px"></progress> ${escapeHtml(label)}: ${pct.toFixed(0)}% (${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")})</div>`;
}
