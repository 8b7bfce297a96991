/**
 * A plotly figure as plain data. memvirt builds figures without touching a browser; the
 * notebook adapter turns them into HTML. `Figure` is a class only so `show()` can recognise it.
 *
 * Every cartesian axis gets `automargin: true` unless the layout says otherwise, so long
 * category labels (a heatmap's row names, rotated bar labels) grow the margin instead of being
 * clipped at the figure's edge.
 */

/** One plotly trace (plain data; see plotly.js reference). */
export type Trace = Record<string, unknown>;

/** Trace types drawn on x/y axes (a trace without a type is a scatter). */
const CARTESIAN_TYPES = new Set([
  "scatter", "scattergl", "bar", "heatmap", "heatmapgl", "histogram", "histogram2d", "histogram2dcontour",
  "box", "violin", "contour", "waterfall", "funnel", "candlestick", "ohlc", "image", "splom",
]);

/** A plotly figure: traces, layout and config. */
export class Figure {
  readonly data: Trace[];
  readonly layout: Record<string, unknown>;
  readonly config: Record<string, unknown>;

  constructor(data: Trace[], layout: Record<string, unknown> = {}, config: Record<string, unknown> = {}) {
    this.data = data;
    this.layout = withAutomargin(data, { template: undefined, margin: { t: 48, r: 24, b: 48, l: 64 }, ...layout });
    this.config = { responsive: true, displaylogo: false, ...config };
  }

  /** The figure as JSON-able plotly arguments. */
  toJSON(): { data: Trace[]; layout: Record<string, unknown>; config: Record<string, unknown> } {
    return { data: this.data, layout: this.layout, config: this.config };
  }
}

/** Axis layout key for a trace's axis reference: "x" → "xaxis", "y2" → "yaxis2". */
function axisKey(ref: unknown, letter: "x" | "y"): string {
  const id = typeof ref === "string" && ref.startsWith(letter) ? ref.slice(1) : "";
  return `${letter}axis${id}`;
}

/**
 * The layout with `automargin: true` on every axis it defines and every axis a cartesian trace
 * uses; an axis's own `automargin` wins. Axes of non-cartesian figures (pie, 3-D) are not added.
 */
function withAutomargin(data: Trace[], layout: Record<string, unknown>): Record<string, unknown> {
  const keys = new Set(Object.keys(layout).filter((k) => /^[xy]axis\d*$/.test(k)));
  for (const trace of data) {
    if (trace.type !== undefined && !CARTESIAN_TYPES.has(String(trace.type))) continue;
    keys.add(axisKey(trace.xaxis, "x"));
    keys.add(axisKey(trace.yaxis, "y"));
  }
  const out = { ...layout };
  for (const key of keys) {
    const axis = out[key];
    if (axis !== undefined && (typeof axis !== "object" || axis === null)) continue;
    out[key] = { automargin: true, ...(axis as Record<string, unknown> | undefined) };
  }
  return out;
}

/**
 * Make a figure from raw plotly traces and layout, for plots the chart helpers do not cover
 * (heatmaps, shapes, annotations). Axes get `automargin: true` unless the layout sets it.
 *
 * @example
 * figure([{ type: "heatmap", z: [[1, 2], [3, 4]] }], { title: { text: "grid" } });
 * figure([{ type: "heatmap", y: ["guest L4 table"], z: [[1]] }]).layout.yaxis // { automargin: true }
 */
export function figure(data: Trace[], layout: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Figure {
  return new Figure(data, layout, config);
}

/**
 * Is `x` a memvirt figure?
 *
 * @internal
 * @example
 * isFigure(figure([])) // true
 */
export function isFigure(x: unknown): x is Figure {
  return x instanceof Figure || (typeof x === "object" && x !== null && (x as { constructor?: { name?: string } }).constructor?.name === "Figure" && Array.isArray((x as Figure).data));
}
