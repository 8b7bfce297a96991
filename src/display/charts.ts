/**
 * Plot helpers: an arquero table and column names in, a plotly `Figure` out.
 *
 * - `color`: one trace per distinct value of a column, with a stable colour per value; the
 *   legend is titled with the column's name (or `legendTitle`).
 * - `facet`: small multiples, one subplot per distinct value of a column, laid out in a grid;
 *   a colour keeps its legend entry and colour across all facets. The grid has ONE y title (on
 *   the left: the first facet's axis title in a one-row grid, else an annotation centred on the
 *   whole grid), because one title per facet row overlaps into garbled text on short rows.
 *
 *   facet = "vm", 3 values, columns = 2:
 *         ┌────────┬────────┐
 *         │ vm=a   │ vm=b   │
 *   y     ├────────┼────────┤
 *   title │ vm=c   │        │
 *         └────────┴────────┘
 *            x title
 *
 * Readability defaults: axes grow their margins for long labels (`Figure` sets automargin);
 * sparse lines (under 30 points) get markers; a y column of strings gets a categorical axis;
 * an x column named `t` is titled "simulated time (s)".
 */
import { MemvirtError } from "../util/errors";
import { Figure, Trace } from "./figure";

/** The parts of an arquero table the charts use. */
export interface ColumnTable {
  columnNames(): string[];
  numRows(): number;
  array(name: string): ArrayLike<unknown>;
}

/**
 * Options shared by every chart helper.
 *
 * @example
 * stepChart(run.timeline, {
 *   x: "t", y: "residentPages",        // x titled "simulated time (s)"
 *   color: "vm", legendTitle: "VM",     // legend title (default: "vm")
 *   facet: "vm", facetColumns: 2,       // small multiples with one y title
 *   sharedY: true, yFromZero: true,     // comparable heights across facets
 *   yTitle: "resident", yUnit: "pages", // "resident (pages)"
 *   markers: false,                     // no markers even on a short run
 * });
 * stepChart(run.hostTimeline, { x: "t", y: "hostState", categories: ["high", "soft", "hard", "low"] });
 */
export interface ChartOptions {
  /** Column for the x axis. */
  x: string;
  /** Column(s) for the y axis; several columns make one trace each. */
  y: string | string[];
  /** Column whose values split the data into coloured traces. */
  color?: string;
  /** Column whose values split the data into small multiples. */
  facet?: string;
  /** Facet grid columns (default: up to 3). */
  facetColumns?: number;
  /** Figure title. */
  title?: string;
  /** x axis title (default: the x column's name; "simulated time" when x is `t`). */
  xTitle?: string;
  /** Unit of the x axis, shown as "title (unit)" (default: "s" when x is `t` and no xTitle). */
  xUnit?: string;
  /** y axis title (default: the y column names, comma-separated). */
  yTitle?: string;
  /** Unit of the y axis, shown as "title (unit)", e.g. "pages". */
  yUnit?: string;
  /** Legend title (default: the colour column's name; none without a colour column). */
  legendTitle?: string;
  /** Facets share one y range (later facets' y axes match the first). */
  sharedY?: boolean;
  /** y axes start at zero (not for log or categorical axes). */
  yFromZero?: boolean;
  /**
   * The y values in axis order, bottom to top, for a categorical y axis (states). Every value
   * is shown, even one the data never reaches. Without it, a y column of strings is still
   * categorical, in order of first appearance.
   */
  categories?: ReadonlyArray<string | number>;
  /**
   * Markers on line and step traces: always (true), never (false), or by default only on a
   * series of fewer than 30 points, where a bare line hides where the samples are.
   */
  markers?: boolean;
  /** Log-scale x axis. */
  logX?: boolean;
  /** Log-scale y axis (values at or below zero fall off the bottom of the plot). */
  logY?: boolean;
  /** Height in pixels (default grows with facet rows). */
  heightPixels?: number;
}

/**
 * A qualitative palette (Tableau 10), so a colour value keeps its colour across facets.
 * @internal
 */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/** A line or step series with fewer points than this gets markers by default. */
const SPARSE_POINTS = 30;

/** Title of an x column named `t` (the timelines' simulated seconds). */
const TIME_TITLE = "simulated time";

type Kind = "line" | "scatter" | "bar" | "step";

/**
 * A line chart. Series with fewer than 30 points get markers too (see `markers`).
 *
 * @example
 * lineChart(run.timeline, { x: "t", y: "residentPages", color: "vm", yUnit: "pages" });
 * // x titled "simulated time (s)", y "residentPages (pages)", legend titled "vm"
 * lineChart(run.timeline, { x: "t", y: "residentPages", facet: "vm", sharedY: true, yFromZero: true });
 */
export function lineChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("line", table, options);
}

/**
 * A scatter chart (markers only).
 *
 * @example
 * scatterChart(results, { x: "tlbMisses", y: "cycles", color: "mode", legendTitle: "translation" });
 */
export function scatterChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("scatter", table, options);
}

/**
 * A grouped bar chart.
 *
 * @example
 * barChart(totals, { x: "mode", y: "memoryReferences", yTitle: "memory references per miss" });
 */
export function barChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("bar", table, options);
}

/**
 * A step chart (values hold until the next x), for counters and states over time. A y column
 * of state names gets a categorical axis; `categories` fixes their order.
 *
 * @example
 * stepChart(run.timeline, { x: "t", y: "balloonedPages", color: "vm", facet: "vm" });
 * stepChart(run.hostTimeline, { x: "t", y: "hostState", categories: ["high", "soft", "hard", "low"] });
 */
export function stepChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("step", table, options);
}

function checkColumn(table: ColumnTable, name: string | undefined, role: string): void {
  if (name === undefined) return;
  const names = table.columnNames();
  if (!names.includes(name)) {
    throw new MemvirtError(`no column "${name}" in the table (columns: ${names.join(", ")})`, { where: `chart ${role}`, value: name });
  }
}

function distinct(values: ArrayLike<unknown> | undefined, n: number): unknown[] {
  if (!values) return [undefined];
  const seen = new Set<unknown>();
  for (let i = 0; i < n; i++) seen.add(values[i]);
  return [...seen];
}

/** "title (unit)", or the title alone. */
function withUnit(title: string, unit: string | undefined): string {
  return unit ? `${title} (${unit})` : title;
}

/** The categories of the y axis in order, or undefined for a numeric axis. */
function yCategories(table: ColumnTable, ys: string[], options: ChartOptions): string[] | undefined {
  const n = table.numRows();
  const given = options.categories?.map(String);
  const seen: string[] = [];
  let strings = false;
  for (const y of ys) {
    const values = table.array(y);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) continue;
      if (typeof v === "string") strings = true;
      const key = String(v);
      if (given && !given.includes(key)) {
        throw new MemvirtError(`value "${key}" of column "${y}" is not one of the categories (${given.join(", ")})`, { where: "chart categories", value: options.categories });
      }
      if (!seen.includes(key)) seen.push(key);
    }
  }
  return given ?? (strings ? seen : undefined);
}

/** A rough width of the y tick labels, to place a grid-wide y title left of them. */
function tickLabelWidthPixels(categories: string[] | undefined): number {
  const chars = categories ? Math.max(1, ...categories.map((c) => c.length)) : 5; // "100k", "0.25", "-1.5k"
  return chars * 7 + 6;
}

function chart(kind: Kind, table: ColumnTable, options: ChartOptions): Figure {
  const ys = Array.isArray(options.y) ? options.y : [options.y];
  if (ys.length === 0) throw new MemvirtError("at least one y column is needed", { where: "chart y", value: options.y });
  checkColumn(table, options.x, "x");
  for (const y of ys) checkColumn(table, y, "y");
  checkColumn(table, options.color, "color");
  checkColumn(table, options.facet, "facet");
  const categories = yCategories(table, ys, options);
  if (options.yFromZero && options.logY) throw new MemvirtError("yFromZero does not apply to a log y axis (logY)", { where: "chart yFromZero", value: true });
  if (options.yFromZero && categories) throw new MemvirtError("yFromZero does not apply to a categorical y axis", { where: "chart yFromZero", value: true });
  if (options.logY && categories) throw new MemvirtError("logY does not apply to a categorical y axis", { where: "chart logY", value: true });

  const n = table.numRows();
  const xs = table.array(options.x);
  const colorValues = options.color ? table.array(options.color) : undefined;
  const facetValues = options.facet ? table.array(options.facet) : undefined;
  const colors = distinct(colorValues, n);
  const facets = distinct(facetValues, n);
  const facetColumns = Math.max(1, Math.min(options.facetColumns ?? 3, facets.length));
  const facetRows = Math.ceil(facets.length / facetColumns);

  const traces: Trace[] = [];
  const annotations: Record<string, unknown>[] = [];
  const inLegend = new Set<string>();
  facets.forEach((facet, f) => {
    const axis = f === 0 ? "" : String(f + 1);
    colors.forEach((color, c) => {
      ys.forEach((y, k) => {
        const yv = table.array(y);
        const tx: unknown[] = [];
        const ty: unknown[] = [];
        for (let i = 0; i < n; i++) {
          if (facetValues && facetValues[i] !== facet) continue;
          if (colorValues && colorValues[i] !== color) continue;
          tx.push(xs[i]);
          ty.push(yv[i]);
        }
        if (tx.length === 0) return;
        const series = colorValues ? (ys.length > 1 ? `${String(color)} ${y}` : String(color)) : y;
        const paint = PALETTE[(colorValues ? c * ys.length + k : k) % PALETTE.length];
        const trace: Trace = {
          x: tx,
          y: ty,
          name: series,
          legendgroup: series,
          // One legend entry per series, at its first appearance in any facet.
          showlegend: (colors.length > 1 || ys.length > 1) && !inLegend.has(series),
          xaxis: `x${axis}`,
          yaxis: `y${axis}`,
        };
        if (kind === "bar") Object.assign(trace, { type: "bar", marker: { color: paint } });
        else if (kind === "scatter") Object.assign(trace, { type: "scatter", mode: "markers", marker: { color: paint } });
        else {
          // A bare line through a few samples hides where the samples are.
          const markers = options.markers ?? tx.length < SPARSE_POINTS;
          Object.assign(trace, {
            type: "scatter",
            mode: markers ? "lines+markers" : "lines",
            line: { color: paint, ...(kind === "step" ? { shape: "hv" } : {}) },
            ...(markers ? { marker: { color: paint, size: 6 } } : {}),
          });
        }
        inLegend.add(series);
        traces.push(trace);
      });
    });
    if (facetValues) {
      annotations.push({
        text: `${options.facet} = ${String(facet)}`,
        showarrow: false,
        xref: `x${axis} domain`,
        yref: `y${axis} domain`,
        x: 0.5,
        y: 1.08,
        xanchor: "center",
        font: { size: 12 },
      });
    }
  });

  const isTime = options.x === "t" && options.xTitle === undefined;
  const xTitle = withUnit(options.xTitle ?? (isTime ? TIME_TITLE : options.x), options.xUnit ?? (isTime ? "s" : undefined));
  const yTitle = withUnit(options.yTitle ?? ys.join(", "), options.yUnit);
  const legendTitle = options.legendTitle ?? options.color;
  // Several facet rows: one title for the whole grid, as an annotation left of the tick labels
  // (an axis title would centre on one row only). One row: the left axis's own title.
  const gridYTitle = facetRows > 1;
  const margin = { t: 48, r: 24, b: 48, l: 64 };
  // Facet labels sit just above each top-row plot: a figure title needs room above them.
  if (options.facet !== undefined && options.title) margin.t = 80;
  if (gridYTitle) {
    const ticksPixels = tickLabelWidthPixels(categories);
    margin.l = Math.max(margin.l, ticksPixels + 40);
    annotations.push({
      text: yTitle,
      showarrow: false,
      textangle: -90,
      xref: "paper",
      yref: "paper",
      x: 0,
      y: 0.5,
      xanchor: "right",
      yanchor: "middle",
      xshift: -(ticksPixels + 10),
      font: { size: 14 },
    });
  }

  const layout: Record<string, unknown> = {
    title: options.title ? { text: options.title } : undefined,
    height: options.heightPixels ?? (facetRows > 1 ? 260 * facetRows + 80 : 420),
    barmode: kind === "bar" ? "group" : undefined,
    margin,
    annotations,
    // At the figure's bottom edge (container coordinates), so the legend reserves its own room
    // below the x labels, however tall automargin makes them.
    legend: { orientation: "h", yref: "container", y: 0, yanchor: "bottom", x: 0, ...(legendTitle ? { title: { text: legendTitle } } : {}) },
  };
  if (facets.length > 1) layout.grid = { rows: facetRows, columns: facetColumns, pattern: "independent", ygap: 0.35 };
  for (let f = 0; f < facets.length; f++) {
    const axis = f === 0 ? "" : String(f + 1);
    const leftColumn = f % facetColumns === 0;
    layout[`xaxis${axis}`] = {
      title: { text: f >= facets.length - facetColumns ? xTitle : "" },
      type: options.logX ? "log" : undefined,
    };
    layout[`yaxis${axis}`] = {
      title: { text: f === 0 && !gridYTitle ? yTitle : "" },
      type: options.logY ? "log" : categories ? "category" : undefined,
      ...(categories ? { categoryorder: "array", categoryarray: categories, range: [-0.5, categories.length - 0.5] } : {}),
      ...(options.yFromZero ? { rangemode: "tozero" } : {}),
      // Matched axes repeat the same ticks: keep them on the left column only.
      ...(options.sharedY && f > 0 ? { matches: "y", showticklabels: leftColumn } : {}),
    };
  }
  return new Figure(traces, layout);
}
