/**
 * What `show(x)` renders, as a pure function from a value to a MIME bundle.
 *
 *   arquero table      → text/html table (row limit, "… N more rows") + text/plain
 *   plotly Figure      → text/html: plotly.js (if this state has not sent it yet), then the
 *                        figure's div and loader (see html.ts: the page fetches the library
 *                        itself when it lacks it)
 *   explainable result → text/html <pre> of explain() + text/plain
 *   anything else      → text/plain
 */
import { isFigure } from "./figure";
import { explainHtml, figureHtml, HtmlTable, plotlyLibraryHtml, tableHtml } from "./html";

/**
 * A Jupyter MIME bundle.
 * @internal
 */
export type MimeBundle = { "text/plain": string; "text/html"?: string };

/**
 * State the caller keeps between calls (one per `notebookDisplay()`, i.e. per run of a notebook's setup cell).
 * @internal
 */
export interface MimeState {
  /** Has plotly.js gone out with a figure of this state? Set to true when a bundle includes it. */
  plotlySent: boolean;
  /** Next figure number, for unique element ids. */
  nextFigure: number;
  /** Prefix for element ids, unique per state (outputs of earlier states stay in the page). */
  idPrefix: string;
}

/** Options for rendering. */
export interface MimeOptions {
  /** Maximum table rows shown (default 20). */
  maxRows?: number;
}

/** A result that can narrate itself. */
export interface Explainable {
  explain(): string;
}

/**
 * Is `x` an arquero-like table?
 *
 * @internal
 * @example
 * isTable(aq.table({ a: [1] })) // true
 */
export function isTable(x: unknown): x is HtmlTable & { toString(): string; print?: unknown } {
  return typeof x === "object" && x !== null && typeof (x as HtmlTable).numRows === "function" && typeof (x as HtmlTable).toHTML === "function";
}

/**
 * Does `x` have an explain view?
 *
 * @internal
 * @example
 * isExplainable({ explain: () => "hi" }) // true
 */
export function isExplainable(x: unknown): x is Explainable {
  return typeof x === "object" && x !== null && typeof (x as Explainable).explain === "function";
}

/**
 * A fresh display state.
 *
 * @internal
 * @example
 * const state = newMimeState("s1");
 */
export function newMimeState(idPrefix: string): MimeState {
  return { plotlySent: false, nextFigure: 1, idPrefix };
}

/**
 * Build the MIME bundle for a value. Mutates `state` (figure counter, plotly sent).
 *
 * @internal
 * @example
 * toMimeBundle(aq.table({ a: [1, 2] }), newMimeState("t"))["text/html"]
 */
export function toMimeBundle(x: unknown, state: MimeState, options: MimeOptions = {}): MimeBundle {
  if (isFigure(x)) {
    const id = `memvirt-fig-${state.idPrefix}-${state.nextFigure++}`;
    // The library goes first, so this figure's loader finds it already loaded.
    const library = state.plotlySent ? "" : `${plotlyLibraryHtml()}\n`;
    state.plotlySent = true;
    const title = (x.layout.title as { text?: string } | undefined)?.text;
    return { "text/plain": `Figure(${x.data.length} traces${title ? `: ${title}` : ""})`, "text/html": `${library}${figureHtml(x, id)}` };
  }
  if (isTable(x)) {
    const maxRows = options.maxRows ?? 20;
    return { "text/plain": plainTable(x, maxRows), "text/html": tableHtml(x, maxRows) };
  }
  if (isExplainable(x)) {
    const text = x.explain();
    return { "text/plain": text, "text/html": explainHtml(text) };
  }
  return { "text/plain": plainText(x) };
}

function plainTable(table: HtmlTable, maxRows: number): string {
  const t = table as unknown as { toMarkdown?: (o: { limit: number }) => string };
  const rows = table.numRows();
  const body = typeof t.toMarkdown === "function" ? t.toMarkdown({ limit: maxRows }) : `table ${rows} × ${table.numCols()}`;
  return rows > maxRows ? `${body}\n… ${rows - maxRows} more rows` : body;
}

function plainText(x: unknown): string {
  if (typeof x === "string") return x;
  if (x === undefined) return "undefined";
  if (typeof x === "bigint") return `${x}n`;
  try {
    return JSON.stringify(x, null, 2) ?? String(x);
  } catch {
    return String(x);
  }
}
