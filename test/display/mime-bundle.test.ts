import { describe, expect, it, vi } from "vitest";
import * as aq from "arquero";
import { figure } from "../../src/display/figure";
import { lineChart } from "../../src/display/charts";
import { newMimeState, toMimeBundle } from "../../src/display/mime-bundle";
import { notebookDisplay } from "../../src/display/notebook";

describe("toMimeBundle", () => {
  it("renders a table as HTML with a row limit and a '… N more rows' line", () => {
    const t = aq.table({ a: Array.from({ length: 25 }, (_, i) => i) });
    const b = toMimeBundle(t, newMimeState("t"), { maxRows: 10 });
    expect(b["text/html"]).toContain("<table");
    expect((b["text/html"]!.match(/<tr/g) ?? []).length).toBe(11); // header + 10 rows
    expect(b["text/html"]).toContain("… 15 more rows");
    expect(b["text/plain"]).toContain("15 more rows");
  });

  it("shows no 'more rows' line when the table fits", () => {
    const b = toMimeBundle(aq.table({ a: [1, 2] }), newMimeState("t"));
    expect(b["text/html"]).not.toContain("more row");
  });

  it("inlines plotly.js with the first figure only, ahead of that figure", () => {
    const state = newMimeState("t");
    const first = toMimeBundle(figure([{ y: [1, 2] }]), state)["text/html"]!;
    const second = toMimeBundle(figure([{ y: [3] }]), state)["text/html"]!;
    expect(first.length).toBeGreaterThan(1_000_000);
    expect(first.match(/data-memvirt-plotly-library/g)).toHaveLength(1);
    // Library first, so the figure's loader finds plotly.js loaded and never asks the kernel.
    expect(first.indexOf("data-memvirt-plotly-library")).toBeLessThan(first.indexOf('id="memvirt-fig-t-1"'));
    expect(second).not.toContain("data-memvirt-plotly-library");
    expect(second.length).toBeLessThan(5_000);
    expect(first).toContain('id="memvirt-fig-t-1"');
    expect(second).toContain('id="memvirt-fig-t-2"');
  });

  it("escapes a closing script tag in figure data", () => {
    const html = toMimeBundle(figure([{ y: [1], name: "</script><b>x" }]), { ...newMimeState("e"), plotlySent: true })["text/html"]!;
    expect(html).not.toContain("</script><b>");
    // Only the output's own two script elements close.
    expect(html.match(/<\/script/gi)).toHaveLength(2);
  });

  it("renders an explainable result as its explain view", () => {
    const b = toMimeBundle({ explain: () => "step 1 <a>\nsummary" }, newMimeState("t"));
    expect(b["text/html"]).toContain("<pre");
    expect(b["text/html"]).toContain("step 1 &lt;a&gt;");
    expect(b["text/plain"]).toBe("step 1 <a>\nsummary");
  });

  it("falls back to text for anything else", () => {
    expect(toMimeBundle({ a: 1 }, newMimeState("t"))).toEqual({ "text/plain": '{\n  "a": 1\n}' });
    expect(toMimeBundle("hello", newMimeState("t"))).toEqual({ "text/plain": "hello" });
  });
});

describe("notebookDisplay", () => {
  it("sends HTML bundles through display.html and text through display.text", () => {
    const calls: string[] = [];
    const kernel = { display: { html: (s: string) => calls.push(`html:${s.slice(0, 40)}`), text: (s: string) => calls.push(`text:${s}`) } };
    const { show } = notebookDisplay(kernel);
    show(42);
    show(aq.table({ a: [1] }));
    expect(calls[0]).toBe("text:42");
    expect(calls[1]).toMatch(/^html:<div class="memvirt-tab/);
  });

  it("sends plotly.js with the first figure of each adapter (so Run All on a reloaded page carries it again)", () => {
    const html: string[] = [];
    const kernel = { display: { html: (s: string) => html.push(s), text: () => {} } };
    const chart = () => lineChart(aq.table({ t: [0, 1], y: [1, 2] }), { x: "t", y: "y" });
    const first = notebookDisplay(kernel);
    first.show(chart());
    first.show(chart());
    const again = notebookDisplay(kernel); // the setup cell, run again
    again.show(chart());
    again.show(chart());
    expect(html.map((s) => s.includes("data-memvirt-plotly-library"))).toEqual([true, false, true, false]);
    expect(html[1].length).toBeLessThan(5_000);
    // Earlier outputs stay in the page: figure ids never repeat across adapters.
    const ids = html.map((s) => /id="(memvirt-fig-[^"]+)"/.exec(s)![1]);
    expect(new Set(ids).size).toBe(4);
  });

  it("lets a page ask the kernel for plotly.js through the latest adapter", () => {
    const scripts: string[] = [];
    const kernel = { display: { html: () => {}, text: () => {}, javascript: (s: string) => scripts.push(s) } };
    notebookDisplay(kernel);
    const send = (globalThis as Record<string, unknown>).__memvirtSendPlotly as () => void;
    send();
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toContain("window.Plotly");
    expect(scripts[0]).toContain("__memvirtPlotQueue");
    delete (globalThis as Record<string, unknown>).__memvirtSendPlotly;
  });

  it("updates one display in place for progress", () => {
    const updates: string[] = [];
    let made = 0;
    const kernel = {
      display: { html: () => {}, text: () => {} },
      newDisplay: () => { made++; return { html: (s: string) => updates.push(s), text: () => {} }; },
    };
    const p = notebookDisplay(kernel).progress("run");
    p.update(0, 10);
    p.update(10, 10);
    expect(updates).toHaveLength(2); // the last update draws at once, however soon after the one before
    expect(updates[1]).toContain("100% (10/10)");
    p.done();
    expect(made).toBe(1);
    expect(updates.at(-1)).toContain("100%");
  });

  it("throttles progress redraws, and done() draws the finished state", () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(1_000_000);
      const updates: string[] = [];
      const kernel = { display: { html: () => {}, text: () => {} }, newDisplay: () => ({ html: (s: string) => updates.push(s), text: () => {} }) };
      const p = notebookDisplay(kernel).progress("run");
      p.update(0, 10);
      p.update(3, 10); // within 200 ms: not drawn
      expect(updates).toHaveLength(1);
      p.done();
      expect(updates.at(-1)).toContain("100% (10/10)");
      vi.setSystemTime(1_000_500);
      p.update(15, 10);
      expect(updates.at(-1)).toContain("run: 100% (15/10)");
    } finally {
      vi.useRealTimers();
    }
  });
});
