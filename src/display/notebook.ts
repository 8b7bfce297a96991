/**
 * The thin notebook adapter: the only code that talks to a kernel's display. Library code never
 * imports tslab (its `display` throws outside a kernel); a notebook passes its tslab module in:
 *
 *   import * as tslab from "tslab";
 *   const { show, progress } = notebookDisplay(tslab);
 *
 * Everything else is the pure `toMimeBundle`.
 */
import { MimeOptions, newMimeState, toMimeBundle } from "./mime-bundle";
import { plotlyLibraryScript, progressHtml } from "./html";

/** The part of a kernel display memvirt needs (tslab's `Display`). */
export interface DisplayLike {
  html(s: string): void;
  text(s: string): void;
  /** Send JavaScript (tslab: text/javascript); lets a page that lacks plotly.js fetch it. */
  javascript?(s: string): void;
}

/** The part of the tslab module memvirt needs. */
export interface KernelLike {
  display: DisplayLike;
  newDisplay?: () => DisplayLike;
}

/** An updating progress display. */
export interface ProgressHandle {
  /** Report `done` out of `total`; redraws at most every 200 ms. */
  update(done: number, total: number): void;
  /** Mark finished (draws the final state). */
  done(): void;
}

/** Where a page's figure loader finds the kernel's plotly.js sender (the name html.ts's loader calls). */
const PLOTLY_SENDER_GLOBAL = "__memvirtSendPlotly";

// Element ids stay unique across adapters in one kernel: a page keeps earlier adapters' outputs.
const processId = Date.now().toString(36);
let adapters = 0;

/**
 * Bind memvirt's display to a notebook kernel.
 *
 * plotly.js goes out with the first figure of each adapter. A notebook makes its adapter in its
 * first cell, so Run All (also on a page reloaded while the kernel kept running) sends the library
 * once and a saved notebook carries it once. A page that runs a figure cell without having seen
 * the library (a second tab, a reload, then one cell) asks the kernel for it through
 * `globalThis.__memvirtSendPlotly`, which this registers (see html.ts).
 *
 * @example
 * import * as tslab from "tslab";
 * const { show, progress } = notebookDisplay(tslab);
 * show(lineChart(run.timeline, { x: "t", y: "residentPages", color: "vm" }));
 */
export function notebookDisplay(kernel: KernelLike, options: MimeOptions = {}): { show: (x: unknown, opts?: MimeOptions) => void; progress: (label: string) => ProgressHandle } {
  const state = newMimeState(`${processId}-${++adapters}`);
  const javascript = kernel.display.javascript?.bind(kernel.display);
  if (javascript) (globalThis as Record<string, unknown>)[PLOTLY_SENDER_GLOBAL] = () => javascript(plotlyLibraryScript());
  const show = (x: unknown, opts: MimeOptions = {}) => {
    const bundle = toMimeBundle(x, state, { ...options, ...opts });
    if (bundle["text/html"] !== undefined) kernel.display.html(bundle["text/html"]);
    else kernel.display.text(bundle["text/plain"]);
  };
  const progress = (label: string): ProgressHandle => {
    const target = kernel.newDisplay ? kernel.newDisplay() : kernel.display;
    let last = 0;
    let lastDone = 0;
    let lastTotal = 0;
    return {
      update(done, total) {
        lastDone = done;
        lastTotal = total;
        const now = Date.now();
        if (now - last < 200 && done < total) return;
        last = now;
        target.html(progressHtml(label, done, total));
      },
      done() {
        target.html(progressHtml(label, lastTotal || lastDone, lastTotal || lastDone));
      },
    };
  };
  return { show, progress };
}
