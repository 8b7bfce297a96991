import { describe, expect, it } from "vitest";
import * as aq from "arquero";
import { barChart, lineChart, scatterChart, stepChart } from "../../src/display/charts";

const timeline = aq.table({
  t: [0, 1, 2, 0, 1, 2],
  vm: ["a", "a", "a", "b", "b", "b"],
  host: ["h1", "h1", "h2", "h1", "h2", "h2"],
  residentPages: [10, 11, 12, 20, 21, 22],
  ballooned: [0, 1, 2, 0, 0, 1],
});

describe("chart helpers", () => {
  it("makes one trace per colour value with that value's rows", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", color: "vm" });
    expect(fig.data.map((d) => d.name)).toEqual(["a", "b"]);
    expect(fig.data[1].y).toEqual([20, 21, 22]);
    expect(fig.data[0].mode).toBe("lines+markers"); // 3 points: a sparse line shows its samples
  });

  it("makes small multiples by a facet column, one axis pair per facet", () => {
    const fig = stepChart(timeline, { x: "t", y: "residentPages", color: "vm", facet: "host" });
    expect(fig.data.length).toBe(4); // h1:a,b  h2:a,b
    expect(new Set(fig.data.map((d) => d.xaxis))).toEqual(new Set(["x", "x2"]));
    expect((fig.layout.grid as { columns: number }).columns).toBe(2);
    expect((fig.data[0].line as { shape: string }).shape).toBe("hv");
    // A colour keeps its legend entry once, in the first facet.
    expect(fig.data.filter((d) => d.showlegend).map((d) => d.name)).toEqual(["a", "b"]);
    expect((fig.layout.annotations as Array<{ text: string }>).map((a) => a.text)).toEqual(["host = h1", "host = h2"]);
  });

  it("plots several y columns as separate traces", () => {
    const fig = scatterChart(timeline, { x: "t", y: ["residentPages", "ballooned"] });
    expect(fig.data.map((d) => d.name)).toEqual(["residentPages", "ballooned"]);
    expect(fig.data[0].mode).toBe("markers");
  });

  it("makes grouped bars", () => {
    const fig = barChart(timeline, { x: "t", y: "ballooned", color: "vm" });
    expect(fig.data[0].type).toBe("bar");
    expect(fig.layout.barmode).toBe("group");
  });

  it("names a missing column and lists the columns", () => {
    expect(() => lineChart(timeline, { x: "time", y: "residentPages" })).toThrow(/chart x: no column "time".*columns: t, vm/);
  });
});

describe("chart legends", () => {
  it("lists a colour that appears only in a later facet", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", color: "vm", facet: "vm" });
    expect(fig.data.filter((d) => d.showlegend).map((d) => d.name)).toEqual(["a", "b"]);
  });
});

describe("chart options", () => {
  it("keeps a colour value's colour in every facet, and gives each value its own", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", color: "vm", facet: "host" });
    const colour = (d: Record<string, unknown>) => (d.line as { color: string }).color;
    const a = fig.data.filter((d) => d.name === "a").map(colour);
    const b = fig.data.filter((d) => d.name === "b").map(colour);
    expect([a.length, b.length]).toEqual([2, 2]);
    expect(new Set(a).size).toBe(1);
    expect(new Set(b).size).toBe(1);
    expect(a[0]).not.toBe(b[0]);
  });

  it("sets log axes, the title and a height that grows with facet rows", () => {
    const fig = lineChart(timeline, { x: "t", y: "residentPages", logX: true, logY: true, title: "resident" });
    expect([(fig.layout.xaxis as { type: string }).type, (fig.layout.yaxis as { type: string }).type]).toEqual(["log", "log"]);
    expect(fig.layout.title).toEqual({ text: "resident" });
    expect(fig.layout.height).toBe(420);
    expect(lineChart(timeline, { x: "t", y: "residentPages", facet: "host", facetColumns: 1 }).layout.height).toBe(260 * 2 + 80);
    expect(lineChart(timeline, { x: "t", y: "residentPages", facet: "host", facetColumns: 1, heightPixels: 300 }).layout.height).toBe(300);
  });

  it("names a missing colour or facet column", () => {
    expect(() => lineChart(timeline, { x: "t", y: "residentPages", color: "colour" })).toThrow(/chart color: no column "colour"/);
    expect(() => lineChart(timeline, { x: "t", y: "residentPages", facet: "hosts" })).toThrow(/chart facet: no column "hosts"/);
  });
});
