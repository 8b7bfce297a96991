/** `npm run strip-notebooks` (src/scripts/strip-notebooks.mjs) on throwaway notebooks. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..", "..");
const script = path.join(root, "src", "scripts", "strip-notebooks.mjs");
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

function strip(...args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A notebook in Jupyter's layout; `executed` adds what a run leaves behind. */
function writeNotebook(executed: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-strip-"));
  dirs.push(dir);
  const file = path.join(dir, "lesson.ipynb");
  const nb = {
    cells: [
      { cell_type: "markdown", metadata: {}, source: ["# A lesson"] },
      {
        cell_type: "code",
        execution_count: executed ? 3 : null,
        metadata: executed ? { execution: { "iopub.status.busy": "2026-01-01T00:00:00Z" }, tags: ["keep"] } : { tags: ["keep"] },
        outputs: executed ? [{ output_type: "display_data", data: { "text/html": "<script>big</script>" }, metadata: {} }] : [],
        source: ["show(table);"],
      },
    ],
    metadata: { kernelspec: { display_name: "TypeScript (memvirt)", language: "typescript", name: "memvirt" } },
    nbformat: 4,
    nbformat_minor: 4,
  };
  fs.writeFileSync(file, `${JSON.stringify(nb, null, 1)}\n`);
  return file;
}

describe("strip-notebooks", () => {
  it("clears outputs, execution counts and run timings, and keeps everything else", () => {
    const clean = fs.readFileSync(writeNotebook(false), "utf8");
    const file = writeNotebook(true);
    const r = strip(file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cell 2 (1 output, execution_count 3, run timings)");
    expect(fs.readFileSync(file, "utf8")).toBe(clean);
  });

  it("leaves a clean notebook byte for byte", () => {
    const file = writeNotebook(false);
    const before = fs.statSync(file).mtimeMs;
    const text = fs.readFileSync(file, "utf8");
    expect(strip(file).stdout).toContain("already clean");
    expect(fs.readFileSync(file, "utf8")).toBe(text);
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  it("--check names the cells and exits 1 without writing", () => {
    const file = writeNotebook(true);
    const text = fs.readFileSync(file, "utf8");
    const r = strip("--check", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("lesson.ipynb: cell 2 (1 output, execution_count 3, run timings)");
    expect(r.stderr).toContain("run: npm run strip-notebooks");
    expect(fs.readFileSync(file, "utf8")).toBe(text);
    expect(strip("--check", writeNotebook(false)).code).toBe(0);
  });

  it("says which file is not a notebook, with exit 2", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-strip-"));
    dirs.push(dir);
    const file = path.join(dir, "broken.ipynb");
    fs.writeFileSync(file, "{ not json");
    const r = strip(file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^strip-notebooks: .*broken\.ipynb: not a notebook/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
