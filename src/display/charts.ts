/**
 * Plot helpers: an arquero table and column names in, a plotly `Figure` out.
 *
 * - `color`: one trace per distinct value of a column, with a stable colour per value.
 * - `facet`: small multiples, one subplot per distinct value of a column, laid out in a grid;
 *   a colour keeps its legend entry and colour across all facets.
 *
 *   facet = "vm", 3 values, columns = 2:
 *   ┌────────┬────────┐
 *   │ vm=a   │ vm=b   │
 *   ├────────┼────────┤
 *   │ vm=c   │        │
 *   └────────┴────────┘
 */
import { MemvirtError } from "../util/errors";
import { Figure, Trace } from "./figure";

/** The parts of an arquero table the charts use. */
export interface ColumnTable {
  columnNames(): string[];
  numRows(): number;
  array(name: string): ArrayLike<unknown>;
}

/** Options shared by every chart helper. */
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
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  /** Height in pixels (default grows with facet rows). */
  heightPixels?: number;
}

/** A qualitative palette (Tableau 10), so a colour value keeps its colour across facets. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

type Kind = "line" | "scatter" | "bar" | "step";

/**
 * A line chart.
 *
 * @example
 * lineChart(run.timeline, { x: "t", y: "residentPages", color: "vm" });
 */
export function lineChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("line", table, options);
}

/**
 * A scatter chart (markers only).
 *
 * @example
 * scatterChart(results, { x: "tlbMisses", y: "cycles", color: "mode" });
 */
export function scatterChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("scatter", table, options);
}

/**
 * A grouped bar chart.
 *
 * @example
 * barChart(totals, { x: "mode", y: "memoryReferences" });
 */
export function barChart(table: ColumnTable, options: ChartOptions): Figure {
  return chart("bar", table, options);
}

/**
 * A step chart (values hold until the next x), for counters and states over time.
 *
 * @example
 * stepChart(run.timeline, { x: "t", y: "balloonedPages", color: "vm", facet: "vm" });
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

function chart(kind: Kind, table: ColumnTable, options: ChartOptions): Figure {
  const ys = Array.isArray(options.y) ? options.y : [options.y];
  if (ys.length === 0) throw new MemvirtError("at least one y column is needed", { where: "chart y", value: options.y });
  checkColumn(table, options.x, "x");
  for (const y of ys) checkColumn(table, y, "y");
  checkColumn(table, options.color, "color");
  checkColumn(table, options.facet, "facet");

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
        else Object.assign(trace, {
          type: "scatter",
          mode: kind === "scatter" ? "markers" : "lines",
          ...(kind === "scatter" ? { marker: { color: paint } } : { line: { color: paint, ...(kind === "step" ? { shape: "hv" } : {}) } }),
        });
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

  const layout: Record<string, unknown> = {
    title: options.title ? { text: options.title } : undefined,
    height: options.heightPixels ?? (facetRows > 1 ? 260 * facetRows + 80 : 420),
    barmode: kind === "bar" ? "group" : undefined,
    annotations,
    legend: { orientation: "h", y: -0.22 },
  };
  if (facets.length > 1) layout.grid = { rows: facetRows, columns: facetColumns, pattern: "independent", ygap: 0.35 };
  for (let f = 0; f < facets.length; f++) {
    const axis = f === 0 ? "" : String(f + 1);
    layout[`xaxis${axis}`] = { title: { text: f >= facets.length - facetColumns ? options.xTitle ?? options.x : "" }, type: options.logX ? "log" : undefined };
    layout[`yaxis${axis}`] = { title: { text: f % facetColumns === 0 ? options.yTitle ?? ys.join(", ") : "" }, type: options.logY ? "log" : undefined };
  }
  return new Figure(traces, layout);
}
