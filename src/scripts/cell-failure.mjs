// What went wrong in a failed notebook cell, in a few lines a person can read: the notebook, the
// cell's number, its source line when it can be known, and the real message. tslab reports a
// failure only as text on the cell's stderr, in one of two shapes:
//
//   a TypeScript error        3:7 - Type 'string' is not assignable to type 'number'.
//                             (line:column in the cell; one line per error)
//   an exception              evalmachine.<anonymous>:7          ← or /…/dist/x.js:128 (library)
//                                     throw new Error("…");      ← that line of compiled code
//                                     ^
//                             (blank)
//                             Error: the message                 ← what we want
//                                 at f (evalmachine.<anonymous>:7:15)
//                                 at Proxy.walk (/…/dist/virt/walk.js:36:17)
//                                 at evalmachine.<anonymous>:3:19   ← the cell's frame
//
// Compiled line numbers do not match the cell's, so an exception's line is found by its text: the
// thrown line itself when it is in the cell, else the call into the library that threw.

/** The text of a notebook cell's source (a string or a list of lines). */
function sourceText(cell) {
  return Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
}

/** The text of a cell's stderr stream outputs, and its error outputs (kernels other than tslab). */
function errorText(cell) {
  const parts = [];
  for (const o of cell.outputs ?? []) {
    if (o.output_type === "stream" && o.name === "stderr") parts.push(Array.isArray(o.text) ? o.text.join("") : String(o.text));
    if (o.output_type === "error") parts.push(`${o.ename}: ${o.evalue}`);
  }
  return parts.join("");
}

/** The 1-based number of the only cell line that `matches`, or undefined when none or several do. */
function onlyLine(lines, matches) {
  const hits = lines.flatMap((line, i) => (matches(line) ? [i + 1] : []));
  return hits.length === 1 ? hits[0] : undefined;
}

/**
 * Read tslab's stderr for a failed cell.
 *
 * @param {string} stderr the cell's stderr text
 * @param {string} source the cell's source
 * @returns {{ message: string, line?: number, column?: number, more: string[], thrownAt?: string }}
 *   more: further TypeScript errors; thrownAt: the library file and line that threw
 * @example
 * parseTslabError("1:7 - Type 'string' is not assignable to type 'number'.\n", "const b: number = 'x';")
 * // { message: "Type 'string' is not assignable to type 'number'.", line: 1, column: 7, more: [] }
 */
export function parseTslabError(stderr, source) {
  const text = stderr.replace(/\r\n/g, "\n");
  const lines = text.split("\n");
  const cellLines = source.split("\n");
  const compile = lines.map((l) => /^(\d+):(\d+) - (.*)$/.exec(l)).filter(Boolean);
  if (compile.length) {
    const [first, ...rest] = compile;
    return { message: first[3], line: Number(first[1]), column: Number(first[2]), more: rest.map((m) => `line ${m[1]}: ${m[3]}`) };
  }
  const header = /^(.*):(\d+)$/.exec(lines[0] ?? "");
  const decorated = header && /^\s*\^+\s*$/.test(lines[2] ?? "");
  const body = decorated ? lines.slice(4) : lines;
  const frameAt = body.findIndex((l) => /^\s+at /.test(l));
  const message = (frameAt >= 0 ? body.slice(0, frameAt) : body).join("\n").trim();
  const frames = frameAt >= 0 ? body.slice(frameAt).filter((l) => /^\s+at /.test(l)) : [];
  const result = { message: message || text.trim() || "the cell failed without a message", more: [] };
  if (decorated && header[1].startsWith("evalmachine.")) {
    // Thrown by the cell's own code: find that line by its text.
    const code = lines[1].trim();
    if (code) result.line = onlyLine(cellLines, (l) => l.trim() === code) ?? onlyLine(cellLines, (l) => l.includes(code));
  } else {
    if (decorated) result.thrownAt = `${header[1]}:${header[2]}`;
    // Thrown inside a library: the frame just before the cell's names the function the cell called.
    const cellFrame = frames.findIndex((f) => f.includes("evalmachine."));
    const called = cellFrame > 0 ? /^\s+at (?:new )?(?:[\w$]+\.)*([\w$]+) \(/.exec(frames[cellFrame - 1]) : null;
    if (called) {
      const name = called[1];
      const call = new RegExp(`(^|[^\\w$])${name.replace(/\$/g, "\\$")}\\s*\\(`);
      result.line = onlyLine(cellLines, (l) => call.test(l));
    }
  }
  if (result.line === undefined) delete result.line;
  return result;
}

/**
 * A failed notebook run as a few readable lines (no Python traceback).
 *
 * @param {string} label how to name the notebook, e.g. "notebooks/03-ballooning.ipynb"
 * @param {{ cells: Array<{ cell_type: string, source: string | string[], outputs?: any[] }> } | undefined} nb
 *   the executed notebook as written (up to the failing cell), if any
 * @param {{ cellIndex: number | null, kind: string | null, message: string | null }} failure from executeNotebook
 * @param {{ timeoutSeconds?: number }} [context]
 * @returns {string[]}
 * @example
 * describeCellFailure("notebooks/x.ipynb", nb, { cellIndex: 1, kind: "error", message: "<Error>: " })
 * // ["notebooks/x.ipynb: cell 2, line 1: Type 'string' is not assignable to type 'number'.",
 * //  "    1 | const b: number = 'text';", "      |       ^"]
 */
export function describeCellFailure(label, nb, failure, { timeoutSeconds } = {}) {
  const index = failure.cellIndex;
  const cell = nb && index !== null && index !== undefined ? nb.cells[index] : undefined;
  const where = index !== null && index !== undefined ? `${label}: cell ${index + 1}` : label;
  if (failure.kind === "timeout") return [`${where}: did not finish ${timeoutSeconds ? `within ${timeoutSeconds} s (the limit per cell)` : "in time"}`];
  if (failure.kind === "dead-kernel") return [`${where}: the kernel died while running it${failure.message ? ` (${failure.message})` : ""}`];
  if (failure.kind !== "error" || !cell) return [`${where}: ${failure.message || "failed"}`];
  const source = sourceText(cell);
  const parsed = parseTslabError(errorText(cell), source);
  const out = [`${where}${parsed.line ? `, line ${parsed.line}` : ""}: ${parsed.message}`];
  if (parsed.line) {
    const text = source.split("\n")[parsed.line - 1] ?? "";
    const gutter = String(parsed.line).padStart(5);
    out.push(`${gutter} | ${text}`);
    if (parsed.column) out.push(`${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, parsed.column - 1))}^`);
  }
  if (parsed.thrownAt) out.push(`      thrown at ${parsed.thrownAt}`);
  for (const m of parsed.more.slice(0, 5)) out.push(`      also ${m}`);
  if (parsed.more.length > 5) out.push(`      … and ${parsed.more.length - 5} more`);
  return out;
}
