/** Reading a failed tslab cell (src/scripts/cell-failure.mjs), on stderr tslab really printed. */
import { describe, expect, it } from "vitest";
import { describeCellFailure, parseTslabError } from "../../src/scripts/cell-failure.mjs";

const thrownInCell = [
  "evalmachine.<anonymous>:7\n",
  "        throw new Error(`memory size 3 GiB is over the host's 1 GiB`);\n",
  "        ^\n",
  "\n",
  "Error: memory size 3 GiB is over the host's 1 GiB\n",
  "    at f (evalmachine.<anonymous>:7:15)\n",
  "    at evalmachine.<anonymous>:10:22\n",
  "    at Object.execute (/work/main/node_modules/tslab/dist/executor.js:160:38)\n",
].join("");
const thrownInCellSource = "const b = 2;\nfunction f(x: number) {\n  if (x > 1) throw new Error(`memory size 3 GiB is over the host's 1 GiB`);\n}\nf(b);";

const thrownInLibrary = [
  "/work/main/dist/mmu/page-size.js:128\n",
  '    throw new errors_1.MemvirtError("expected 4 or 5 page-table levels", { where, value });\n',
  "    ^\n",
  "\n",
  "MemvirtError: guestLevels: expected 4 or 5 page-table levels (got 7)\n",
  "    at parseLevels (/work/main/dist/mmu/page-size.js:128:11)\n",
  "    at new Mmu (/work/main/dist/virt/mmu.js:88:57)\n",
  "    at Proxy.walk (/work/main/dist/virt/walk.js:36:17)\n",
  "    at evalmachine.<anonymous>:3:19\n",
  "    at evalmachine.<anonymous>:7:3\n",
  "    at JupyterHandlerImpl.handleExecuteImpl (/work/main/node_modules/tslab/dist/jupyter.js:250:38) {\n",
  "  where: 'guestLevels',\n",
  "  value: 7,\n",
  "  exitCode: 2\n",
  "}\n",
].join("");
const thrownInLibrarySource = 'const native = walk({ mode: "native" });\nconst w = walk({ mode: "nested", guestLevels: 7 as any });\nw.memoryReferences';

describe("parseTslabError", () => {
  it("takes a TypeScript error's message, line and column, and counts the others", () => {
    const e = parseTslabError("2:7 - Type 'string' is not assignable to type 'number'.\n4:1 - Cannot find name 'nope'.\n", "const a = 1;\nconst b: number = 'text';");
    expect(e).toEqual({ message: "Type 'string' is not assignable to type 'number'.", line: 2, column: 7, more: ["line 4: Cannot find name 'nope'."] });
  });

  it("finds the line of an exception thrown by the cell's own code by its text", () => {
    const e = parseTslabError(thrownInCell, thrownInCellSource);
    expect(e.message).toBe("Error: memory size 3 GiB is over the host's 1 GiB");
    expect(e.line).toBe(3);
  });

  it("finds the cell line that called into the library that threw, and names where it threw", () => {
    const e = parseTslabError(thrownInLibrary, thrownInLibrarySource);
    expect(e.message).toBe("MemvirtError: guestLevels: expected 4 or 5 page-table levels (got 7)");
    expect(e.thrownAt).toBe("/work/main/dist/mmu/page-size.js:128");
    // walk( appears on lines 1 and 2: the line is not known for sure, so none is given.
    expect(e.line).toBeUndefined();
    expect(parseTslabError(thrownInLibrary, 'const w = walk({ mode: "nested", guestLevels: 7 as any });').line).toBe(1);
  });

  it("keeps whatever text there is when it has neither shape", () => {
    expect(parseTslabError("something odd happened\n", "x").message).toBe("something odd happened");
    expect(parseTslabError("", "x").message).toBe("the cell failed without a message");
  });
});

describe("describeCellFailure", () => {
  const nb = {
    cells: [
      { cell_type: "markdown", source: "# lesson" },
      { cell_type: "code", source: ["const b: number = 'text';\n", "b"], outputs: [{ output_type: "stream", name: "stderr", text: ["1:7 - Type 'string' is not assignable to type 'number'.\n"] }] },
    ],
  };

  it("names the notebook, the cell's number, the line with a caret, and the real message", () => {
    expect(describeCellFailure("notebooks/x.ipynb", nb, { cellIndex: 1, kind: "error", message: "<Error>: " })).toEqual([
      "notebooks/x.ipynb: cell 2, line 1: Type 'string' is not assignable to type 'number'.",
      "    1 | const b: number = 'text';",
      "      |       ^",
    ]);
  });

  it("says when a cell ran out of time or killed the kernel", () => {
    expect(describeCellFailure("n.ipynb", nb, { cellIndex: 1, kind: "timeout", message: "" }, { timeoutSeconds: 120 })).toEqual(["n.ipynb: cell 2: did not finish within 120 s (the limit per cell)"]);
    expect(describeCellFailure("n.ipynb", nb, { cellIndex: 1, kind: "dead-kernel", message: "Kernel died" })).toEqual(["n.ipynb: cell 2: the kernel died while running it (Kernel died)"]);
  });

  it("falls back to the runner's message when there is no cell to read", () => {
    expect(describeCellFailure("n.ipynb", undefined, { cellIndex: null, kind: "other", message: "NoSuchKernel: No such kernel named memvirt" })).toEqual(["n.ipynb: NoSuchKernel: No such kernel named memvirt"]);
  });
});
