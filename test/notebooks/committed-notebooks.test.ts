/**
 * The lessons in notebooks/ are committed without outputs: an executed notebook carries
 * megabytes (plotly.js alone is about 5 MB) and Jupyter's autosave writes them into the file that
 * is open. Executed copies go to reports/ (npm run reproduce); `npm run strip-notebooks` cleans.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const notebooksDir = path.resolve(__dirname, "..", "..", "notebooks");
const notebooks = fs.readdirSync(notebooksDir).filter((f) => f.endsWith(".ipynb")).sort();

interface Cell {
  cell_type: string;
  outputs?: unknown[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}

describe("committed notebooks", () => {
  it("exist", () => {
    expect(notebooks.length).toBeGreaterThan(0);
  });

  it.each(notebooks)("%s carries no outputs, execution counts or run timings", (file) => {
    const nb = JSON.parse(fs.readFileSync(path.join(notebooksDir, file), "utf8")) as { cells: Cell[] };
    const problems = nb.cells.flatMap((cell, i) => {
      if (cell.cell_type !== "code") return [];
      const found: string[] = [];
      if ((cell.outputs ?? []).length) found.push(`${cell.outputs!.length} output(s)`);
      if (cell.execution_count !== null && cell.execution_count !== undefined) found.push(`execution_count ${cell.execution_count}`);
      if (cell.metadata && "execution" in cell.metadata) found.push("run timings (metadata.execution)");
      return found.length ? [`notebooks/${file} cell ${i + 1}: ${found.join(", ")}`] : [];
    });
    expect(problems, "run `npm run strip-notebooks` before committing").toEqual([]);
  });
});
