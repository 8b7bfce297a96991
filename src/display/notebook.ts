/**
 * The thin notebook adapter: the only code that talks to a kernel's display. Library code never
 * imports tslab (its `display` throws outside a kernel); a notebook passes its tslab module in:
 *
 *   import * as tslab from "tslab";
 *   const { show, progress } = notebookDisplay(tslab);
 *
 * Everything else is the pure `toMimeBundle`.
 */
import { MimeOptions, MimeState, newMimeState, toMimeBundle } from "./mime-bundle";
import { progressHtml } from "./html";

/** The part of a kernel display memvirt needs (tslab's `Display`). */
export interface DisplayLike {
  html(s: string): void;
  text(s: string): void;
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

// One state per kernel process: plotly.js goes out once however many times the adapter is made.
let sharedState: MimeState | undefined;

/**
 * Bind memvirt's display to a notebook kernel.
 *
 * @example
 * import * as tslab from "tslab";
 * const { show, progress } = notebookDisplay(tslab);
 * show(lineChart(run.timeline, { x: "t", y: "residentPages", color: "vm" }));
 */
export function notebookDisplay(kernel: KernelLike, options: MimeOptions = {}): { show: (x: unknown, opts?: MimeOptions) => void; progress: (label: string) => ProgressHandle } {
  sharedState ??= newMimeState(Date.now().toString(36));
  const state = sharedState;
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
