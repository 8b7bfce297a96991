/**
 * A plotly figure as plain data. memvirt builds figures without touching a browser; the
 * notebook adapter turns them into HTML. `Figure` is a class only so `show()` can recognise it.
 */

/** One plotly trace (plain data; see plotly.js reference). */
export type Trace = Record<string, unknown>;

/** A plotly figure: traces, layout and config. */
export class Figure {
  readonly data: Trace[];
  readonly layout: Record<string, unknown>;
  readonly config: Record<string, unknown>;

  constructor(data: Trace[], layout: Record<string, unknown> = {}, config: Record<string, unknown> = {}) {
    this.data = data;
    this.layout = { template: undefined, margin: { t: 48, r: 24, b: 48, l: 64 }, ...layout };
    this.config = { responsive: true, displaylogo: false, ...config };
  }

  /** The figure as JSON-able plotly arguments. */
  toJSON(): { data: Trace[]; layout: Record<string, unknown>; config: Record<string, unknown> } {
    return { data: this.data, layout: this.layout, config: this.config };
  }
}

/**
 * Make a figure from raw plotly traces and layout, for plots the chart helpers do not cover
 * (heatmaps, shapes, annotations).
 *
 * @example
 * figure([{ type: "heatmap", z: [[1, 2], [3, 4]] }], { title: { text: "grid" } });
 */
export function figure(data: Trace[], layout: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Figure {
  return new Figure(data, layout, config);
}

/**
 * Is `x` a memvirt figure?
 *
 * @example
 * isFigure(figure([])) // true
 */
export function isFigure(x: unknown): x is Figure {
  return x instanceof Figure || (typeof x === "object" && x !== null && (x as { constructor?: { name?: string } }).constructor?.name === "Figure" && Array.isArray((x as Figure).data));
}
