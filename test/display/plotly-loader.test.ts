/**
 * The page side of plotly.js delivery: every figure output's loader, run in a small fake page
 * (a vm context with just the DOM calls the loader makes). The real browser and the real Notebook
 * UI are covered by src/scripts/browser-check.mjs; this pins each decision the loader makes.
 */
import * as fs from "node:fs";
import * as vm from "node:vm";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { figure } from "../../src/display/figure";
import { figureHtml, plotlyLibraryHtml, plotlyLibraryScript } from "../../src/display/html";
import { notebookDisplay } from "../../src/display/notebook";

/** The real library script with plotly.js itself swapped for a stub that records newPlot calls. */
function stubbedLibraryScript(): string {
  const source = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  const real = plotlyLibraryScript();
  const stubbed = real.replace(source, "window.Plotly={newPlot:function(el,data){window.drawn.push({id:el.id,traces:data.length});}};");
  expect(stubbed).not.toBe(real);
  return stubbed;
}

class FakeElement {
  id = "";
  className = "";
  textContent = "";
  text = "";
  children: FakeElement[] = [];
  parentNode: FakeElement | null = null;
  constructor(readonly tag: string, private readonly page: FakePage) {}
  appendChild(child: FakeElement): FakeElement {
    child.parentNode = this;
    this.children.push(child);
    if (child.tag === "script" && this === this.page.head) this.page.run(child.text);
    return child;
  }
  removeChild(child: FakeElement): FakeElement {
    this.children = this.children.filter((c) => c !== child);
    child.parentNode = null;
    return child;
  }
}

interface KernelRequest {
  code: string;
  callbacks: { iopub: { output(msg: unknown): void }; shell: { reply(msg: unknown): void } };
  options: Record<string, unknown>;
}

/** A page: a body the outputs go into, a head scripts run from, and a window. */
class FakePage {
  readonly body = new FakeElement("body", this);
  readonly head = new FakeElement("head", this);
  readonly window: Record<string, unknown> & { drawn: Array<{ id: string; traces: number }> };
  readonly context: vm.Context;
  readonly requests: KernelRequest[] = [];

  constructor() {
    const page = this;
    const document = {
      head: this.head,
      body: this.body,
      createElement: (tag: string) => new FakeElement(tag, page),
      getElementById: (id: string) => page.all().find((e) => e.id === id) ?? null,
      getElementsByClassName: (name: string) => page.all().filter((e) => e.className.split(" ").includes(name)),
    };
    this.window = { drawn: [] };
    this.context = vm.createContext(this.window);
    Object.assign(this.window, { window: this.window, document, setTimeout: (f: () => void, ms: number) => setTimeout(f, ms), console, JSON });
  }

  all(): FakeElement[] {
    const out: FakeElement[] = [];
    const walk = (e: FakeElement) => { out.push(e); e.children.forEach(walk); };
    walk(this.body);
    return out;
  }

  run(code: string): void {
    vm.runInContext(code, this.context);
  }

  /** Render an output's HTML as a notebook front end does: elements in, scripts run in order. */
  show(html: string): void {
    const tags = /<div id="([^"]+)"[^>]*><\/div>|<script type="application\/json" id="([^"]+)">([\s\S]*?)<\/script>|<script[^>]*>([\s\S]*?)<\/script>/g;
    for (const m of html.matchAll(tags)) {
      if (m[1] !== undefined) {
        const div = new FakeElement("div", this);
        div.id = m[1];
        div.className = "memvirt-figure";
        this.body.appendChild(div);
      } else if (m[2] !== undefined) {
        const spec = new FakeElement("script", this);
        spec.id = m[2];
        spec.textContent = m[3];
        this.body.appendChild(spec);
      } else this.run(m[4]);
    }
  }

  /** A classic Notebook kernel (window.Jupyter.notebook.kernel) that records execute requests. */
  connectKernel(connected: () => boolean = () => true): void {
    const requests = this.requests;
    this.window.Jupyter = {
      notebook: {
        kernel: {
          is_connected: connected,
          execute: (code: string, callbacks: KernelRequest["callbacks"], options: Record<string, unknown>) => { requests.push({ code, callbacks, options }); },
        },
      },
    };
  }

  note(id: string): string | undefined {
    return this.all().find((e) => e.id === `${id}-note`)?.textContent;
  }
}

const twoTraces = () => figure([{ y: [1, 2] }, { y: [2, 1] }]);

describe("the figure loader", () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it("draws at once when plotly.js is already in the page", () => {
    const page = new FakePage();
    page.connectKernel();
    page.run(stubbedLibraryScript());
    page.show(figureHtml(twoTraces(), "f1"));
    expect(page.window.drawn).toEqual([{ id: "f1", traces: 2 }]);
    vi.advanceTimersByTime(10_000);
    expect(page.requests).toHaveLength(0);
  });

  it("waits for a library output further down the page, then draws without asking the kernel", () => {
    const page = new FakePage();
    page.connectKernel();
    page.show(figureHtml(twoTraces(), "early"));
    expect(page.window.drawn).toEqual([]);
    page.run(stubbedLibraryScript());
    expect(page.window.drawn).toEqual([{ id: "early", traces: 2 }]);
    vi.advanceTimersByTime(10_000);
    expect(page.requests).toHaveLength(0);
  });

  it("asks a connected kernel once for the library when the page lacks it, then draws every waiting figure", () => {
    const page = new FakePage();
    page.connectKernel();
    page.show(figureHtml(twoTraces(), "a"));
    page.show(figureHtml(figure([{ y: [3] }]), "b"));
    vi.advanceTimersByTime(1_000);
    expect(page.requests).toHaveLength(1);
    expect(page.requests[0].code).toContain("__memvirtSendPlotly");
    expect(page.note("a")).toMatch(/Loading plotly\.js from the kernel/);
    page.requests[0].callbacks.iopub.output({ msg_type: "display_data", content: { data: { "text/javascript": stubbedLibraryScript() } } });
    expect(page.window.drawn).toEqual([{ id: "a", traces: 2 }, { id: "b", traces: 1 }]);
    expect(page.note("a")).toBeUndefined();
    expect(page.note("b")).toBeUndefined();
  });

  it("waits for a kernel that is still connecting before asking it", () => {
    const page = new FakePage();
    let connected = false;
    page.connectKernel(() => connected);
    page.show(figureHtml(twoTraces(), "c"));
    vi.advanceTimersByTime(2_000);
    expect(page.requests).toHaveLength(0);
    connected = true;
    vi.advanceTimersByTime(600);
    expect(page.requests).toHaveLength(1);
  });

  it("says what to run when there is no kernel to ask", () => {
    const page = new FakePage();
    page.show(figureHtml(twoTraces(), "lonely"));
    vi.advanceTimersByTime(1_000);
    expect(page.window.drawn).toEqual([]);
    expect(page.note("lonely")).toMatch(/plotly\.js is not loaded in this page\. Run the notebook's first cell \(the one that calls notebookDisplay\(tslab\)\) again/);
  });

  it("says what to run when the kernel answers without the library (it never made a notebookDisplay)", () => {
    const page = new FakePage();
    page.connectKernel();
    page.show(figureHtml(twoTraces(), "d"));
    vi.advanceTimersByTime(1_000);
    page.requests[0].callbacks.shell.reply({ content: { status: "ok" } });
    vi.advanceTimersByTime(1_500);
    expect(page.note("d")).toMatch(/Run the notebook's first cell/);
  });
});

describe("page and kernel together", () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); delete (globalThis as Record<string, unknown>).__memvirtSendPlotly; });

  it("a page that missed the library gets it from the kernel's notebookDisplay and draws", () => {
    // The kernel: an adapter whose first figure (with the library) went to an earlier page.
    const outputs: string[] = [];
    const scripts: string[] = [];
    const kernel = { display: { html: (s: string) => outputs.push(s), text: () => {}, javascript: (s: string) => scripts.push(s) } };
    const { show } = notebookDisplay(kernel);
    show(twoTraces());
    show(figure([{ y: [5] }]));
    expect(outputs[1]).not.toContain("data-memvirt-plotly-library");

    // A reloaded page runs only the second figure's cell: its output lacks the library.
    const page = new FakePage();
    page.connectKernel();
    page.show(outputs[1]);
    vi.advanceTimersByTime(1_000);
    expect(page.requests).toHaveLength(1);
    // The kernel runs the request as tslab would: TypeScript, in the kernel's global scope.
    const js = ts.transpileModule(page.requests[0].code, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
    vm.runInThisContext(js);
    expect(scripts).toHaveLength(1);
    // Swap the real plotly.js for the stub before the page runs it (the fake page has no DOM for it).
    const source = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
    page.requests[0].callbacks.iopub.output({ content: { data: { "text/javascript": scripts[0].replace(source, "window.Plotly={newPlot:function(el,data){window.drawn.push({id:el.id,traces:data.length});}};") } } });
    expect(page.window.drawn).toHaveLength(1);
    expect(page.window.drawn[0].traces).toBe(1);
  });
});

describe("the inlined library", () => {
  it("is plotly.js-dist-min's minified build, at exactly plotly.js-dist's version", () => {
    const min = require("plotly.js-dist-min/package.json") as { version: string };
    const full = require("plotly.js-dist/package.json") as { version: string };
    expect(min.version).toBe(full.version);
    const html = plotlyLibraryHtml();
    expect(html.startsWith(`<script data-memvirt-plotly-library="${min.version}">`)).toBe(true);
    expect(html).toContain(`plotly.js v${min.version}`);
    // The unminified bundle is about 10 MB; the minified one under 5.
    expect(html.length).toBeLessThan(5_500_000);
    expect(html.length).toBeGreaterThan(1_000_000);
  });

  it("never closes its script element early", () => {
    const html = plotlyLibraryHtml();
    expect(html.indexOf("</script")).toBe(html.length - "</script>".length);
  });
});
