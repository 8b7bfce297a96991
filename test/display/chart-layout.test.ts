import { describe, expect, it } from "vitest";
import * as aq from "arquero";
import { barChart, lineChart, scatterChart, stepChart } from "../../src/display/charts";
import { figure, type Figure } from "../../src/display/figure";

/** The sparse-line threshold in src/display/charts.ts. */
const SPARSE_POINTS = 30;

type Axis = Record<string, unknown> & { title?: { text?: string } };
type Annotation = Record<string, unknown> & { text: string };

const timeline = aq.table({
  t: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
  vm: ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"],
  residentPages: [10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42],
  balloonedPages: [0, 1, 2, 0, 0, 1, 0, 2, 4, 1, 1, 1],
});

/** Every y axis of a figure's layout, in facet order (yaxis, yaxis2, ...). */
function yAxes(fig: Figure): Axis[] {
  return Object.keys(fig.layout).filter((k) => /^yaxis\d*$/.test(k)).sort().map((k) => fig.layout[k] as Axis);
}

function xAxes(fig: Figure): Axis[] {
  return Object.keys(fig.layout).filter((k) => /^xaxis\d*$/.test(k)).sort().map((k) => fig.layout[k] as Axis);
}

function annotations(fig: Figure): Annotation[] {
  return (fig.layout.annotations ?? []) as Annotation[];
}

/** A line of `points` samples. */
function series(points: number) {
  return aq.table({ t: Array.from({ length: points }, (_, i) => i), v: Array.from({ length: points }, (_, i) => i % 7) });
}

describe("legend titles", () => {
  it("titles the legend with the colour column's name", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", color: "vm" });
    expect((fig.layout.legend as { title?: { text: string } }).title?.text).toBe("vm");
  });

  it("takes a given legend title over the column name, for every helper", () => {
    for (const chart of [lineChart, scatterChart, barChart, stepChart]) {
      const fig = chart(timeline, { x: "t", y: "residentPages", color: "vm", legendTitle: "virtual machine" });
      expect((fig.layout.legend as { title?: { text: string } }).title?.text).toBe("virtual machine");
    }
  });

  it("gives no legend title without a colour column", () => {
    const fig = lineChart(timeline, { x: "t", y: ["residentPages", "balloonedPages"] });
    expect((fig.layout.legend as { title?: unknown }).title).toBeUndefined();
  });

  it("anchors the legend to the figure's bottom edge, so it reserves room below the x labels", () => {
    const legend = lineChart(timeline, { x: "t", y: "residentPages", color: "vm" }).layout.legend as Record<string, unknown>;
    expect(legend).toMatchObject({ orientation: "h", yref: "container", y: 0, yanchor: "bottom" });
  });
});

describe("faceted charts with a title", () => {
  it("leave more room at the top than untitled ones, so the title clears the facet labels", () => {
    const top = (fig: Figure) => (fig.layout.margin as { t: number }).t;
    const titled = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm", facetColumns: 4, title: "Resident pages" });
    const untitled = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm", facetColumns: 4 });
    const plain = lineChart(timeline, { x: "t", y: "residentPages", title: "Resident pages" });
    expect(top(titled)).toBeGreaterThanOrEqual(top(untitled) + 30);
    expect(top(plain)).toBe(top(untitled));
  });
});

describe("one y title for faceted charts", () => {
  it("puts a multi-row grid's y title once, as an annotation centred on the grid, and none on the axes", () => {
    const fig = lineChart(timeline, { x: "t", y: ["residentPages", "balloonedPages"], facet: "vm", facetColumns: 2 });
    expect(yAxes(fig).map((a) => a.title?.text)).toEqual(["", "", "", ""]);
    const titles = annotations(fig).filter((a) => a.text === "residentPages, balloonedPages");
    expect(titles).toHaveLength(1);
    expect(titles[0]).toMatchObject({ textangle: -90, xref: "paper", yref: "paper", y: 0.5, xanchor: "right" });
    // Left of the tick labels, inside a margin wide enough to hold it.
    const margin = fig.layout.margin as { l: number };
    expect(titles[0].xshift as number).toBeLessThan(-20);
    expect(margin.l).toBeGreaterThan(-(titles[0].xshift as number) + 14);
  });

  it("puts a one-row grid's y title on the first facet's axis only", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm", facetColumns: 4, yTitle: "resident pages" });
    expect(yAxes(fig).map((a) => a.title?.text)).toEqual(["resident pages", "", "", ""]);
    expect(annotations(fig).map((a) => a.text)).toEqual(["vm = a", "vm = b", "vm = c", "vm = d"]);
  });

  it("keeps the y title on the axis of an unfaceted chart", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", yTitle: "pages" });
    expect(yAxes(fig)[0].title?.text).toBe("pages");
    expect(annotations(fig)).toEqual([]);
  });
});

describe("shared and zero-based y axes", () => {
  it("matches every facet's y axis to the first with sharedY, and shows tick labels on the left column only", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm", facetColumns: 2, sharedY: true });
    const axes = yAxes(fig);
    expect(axes[0].matches).toBeUndefined();
    expect(axes.slice(1).map((a) => a.matches)).toEqual(["y", "y", "y"]);
    expect(axes.slice(1).map((a) => a.showticklabels)).toEqual([false, true, false]);
  });

  it("leaves facets' y axes independent by default", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm" });
    expect(yAxes(fig).map((a) => a.matches)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("starts every y axis at zero with yFromZero", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm", yFromZero: true });
    expect(yAxes(fig).map((a) => a.rangemode)).toEqual(["tozero", "tozero", "tozero", "tozero"]);
    expect(yAxes(lineChart(timeline, { x: "t", y: "residentPages" }))[0].rangemode).toBeUndefined();
  });

  it("refuses yFromZero on a log or categorical y axis", () => {
    expect(() => lineChart(timeline, { x: "t", y: "residentPages", logY: true, yFromZero: true })).toThrow(/chart yFromZero: .*log y axis/);
    expect(() => stepChart(timeline, { x: "t", y: "vm", yFromZero: true })).toThrow(/chart yFromZero: .*categorical/);
  });
});

describe("automargin", () => {
  it("sets automargin on every axis of every helper's figure", () => {
    for (const chart of [lineChart, scatterChart, barChart, stepChart]) {
      const fig = chart(timeline, { x: "t", y: "residentPages", facet: "vm" });
      for (const axis of [...xAxes(fig), ...yAxes(fig)]) expect(axis.automargin).toBe(true);
    }
  });

  it("sets automargin on a raw figure's axes, keeping the layout's own axis settings", () => {
    const fig = figure([{ type: "heatmap", y: ["guest L4 table", "data page"], z: [[1], [2]] }], { yaxis: { autorange: "reversed" } });
    expect(fig.layout.yaxis).toEqual({ automargin: true, autorange: "reversed" });
    expect(fig.layout.xaxis).toEqual({ automargin: true });
  });

  it("covers the axes a trace names and lets a layout turn automargin off", () => {
    const fig = figure([{ y: [1], xaxis: "x2", yaxis: "y3" }], { yaxis3: { automargin: false } });
    expect(fig.layout.xaxis2).toEqual({ automargin: true });
    expect(fig.layout.yaxis3).toEqual({ automargin: false });
    const bars = figure([{ type: "bar", x: ["a long category label"], y: [1] }]);
    expect([bars.layout.xaxis, bars.layout.yaxis]).toEqual([{ automargin: true }, { automargin: true }]);
  });

  it("adds no cartesian axes to a figure without cartesian traces", () => {
    const fig = figure([{ type: "pie", values: [1, 2] }]);
    expect(fig.layout.xaxis).toBeUndefined();
    expect(fig.layout.yaxis).toBeUndefined();
  });
});

describe("markers on sparse lines", () => {
  it(`draws markers on a line of fewer than ${SPARSE_POINTS} points and none on a denser one`, () => {
    for (const chart of [lineChart, stepChart]) {
      const sparse = chart(series(SPARSE_POINTS - 1), { x: "t", y: "v" }).data[0];
      expect(sparse.mode).toBe("lines+markers");
      expect((sparse.marker as { color: string }).color).toBe((sparse.line as { color: string }).color);
      expect(chart(series(SPARSE_POINTS), { x: "t", y: "v" }).data[0].mode).toBe("lines");
    }
  });

  it("decides per series: a sparse colour gets markers beside a dense one", () => {
    const table = aq.table({ t: [...Array(40).keys(), 0, 1, 2], vm: [...Array(40).fill("dense"), "sparse", "sparse", "sparse"], v: Array(43).fill(1) });
    const fig = lineChart(table, { x: "t", y: "v", color: "vm" });
    expect(fig.data.map((d) => [d.name, d.mode])).toEqual([["dense", "lines"], ["sparse", "lines+markers"]]);
  });

  it("follows the markers option over the default", () => {
    expect(lineChart(series(5), { x: "t", y: "v", markers: false }).data[0].mode).toBe("lines");
    expect(lineChart(series(100), { x: "t", y: "v", markers: true }).data[0].mode).toBe("lines+markers");
  });

  it("keeps scatter charts markers-only and step charts stepped", () => {
    expect(scatterChart(series(5), { x: "t", y: "v" }).data[0].mode).toBe("markers");
    expect((stepChart(series(5), { x: "t", y: "v" }).data[0].line as { shape: string }).shape).toBe("hv");
  });
});

describe("categorical y axes for states", () => {
  const states = aq.table({ t: [0, 1, 2, 3, 4], hostState: ["high", "soft", "hard", "soft", "high"] });

  it("makes a y column of strings a categorical axis, in order of first appearance", () => {
    const axis = yAxes(stepChart(states, { x: "t", y: "hostState" }))[0];
    expect(axis).toMatchObject({ type: "category", categoryorder: "array", categoryarray: ["high", "soft", "hard"] });
  });

  it("orders the categories as given and shows every one, reached or not", () => {
    const axis = yAxes(stepChart(states, { x: "t", y: "hostState", categories: ["high", "soft", "hard", "low"] }))[0];
    expect(axis).toMatchObject({ type: "category", categoryarray: ["high", "soft", "hard", "low"], range: [-0.5, 3.5] });
  });

  it("makes numbers categorical when categories are given", () => {
    const levels = aq.table({ t: [0, 1], level: [0, 2] });
    expect(yAxes(stepChart(levels, { x: "t", y: "level", categories: [0, 1, 2, 3] }))[0]).toMatchObject({ type: "category", categoryarray: ["0", "1", "2", "3"] });
  });

  it("keeps a numeric y axis linear", () => {
    expect(yAxes(lineChart(timeline, { x: "t", y: "residentPages" }))[0].type).toBeUndefined();
  });

  it("names a value missing from the categories", () => {
    expect(() => stepChart(states, { x: "t", y: "hostState", categories: ["high", "soft"] })).toThrow(/chart categories: value "hard" of column "hostState" is not one of the categories \(high, soft\)/);
  });

  it("shares the categories across facets", () => {
    const t = aq.table({ t: [0, 1, 0, 1], vm: ["a", "a", "b", "b"], s: ["high", "low", "low", "low"] });
    const axes = yAxes(stepChart(t, { x: "t", y: "s", facet: "vm", categories: ["high", "low"] }));
    expect(axes.map((a) => a.categoryarray)).toEqual([["high", "low"], ["high", "low"]]);
  });
});

describe("axis titles and units", () => {
  it('titles an x column named t "simulated time (s)"', () => {
    expect(xAxes(lineChart(timeline, { x: "t", y: "residentPages" }))[0].title?.text).toBe("simulated time (s)");
  });

  it("takes xTitle and yTitle over the defaults, without adding a unit", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", xTitle: "seconds", yTitle: "resident" });
    expect(xAxes(fig)[0].title?.text).toBe("seconds");
    expect(yAxes(fig)[0].title?.text).toBe("resident");
  });

  it("appends units to the titles, given or default", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", xTitle: "simulated time", xUnit: "ms", yUnit: "pages" });
    expect(xAxes(fig)[0].title?.text).toBe("simulated time (ms)");
    expect(yAxes(fig)[0].title?.text).toBe("residentPages (pages)");
  });

  it("names other x columns by themselves", () => {
    expect(xAxes(barChart(timeline, { x: "vm", y: "residentPages" }))[0].title?.text).toBe("vm");
  });

  it("puts the units on a faceted chart's bottom x titles and its one y title", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", facet: "vm", facetColumns: 2, yUnit: "pages" });
    expect(xAxes(fig).map((a) => a.title?.text)).toEqual(["", "", "simulated time (s)", "simulated time (s)"]);
    expect(annotations(fig).some((a) => a.text === "residentPages (pages)")).toBe(true);
  });
});
