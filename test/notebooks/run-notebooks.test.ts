/**
 * `npm run notebooks` (src/scripts/run-notebooks.mjs) on a throwaway failing notebook in a temp
 * folder: it must print the notebook, the failing cell's number, its source line and the real
 * message, not nbconvert's empty "<Error>:" and a Python traceback. Needs Debian's Jupyter and the
 * memvirt kernel (npm test sets both up); skipped without them.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..", "..");
const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
// nbclient, and a kernel named memvirt where Jupyter will look (JUPYTER_PATH as npm test sets it).
const hasJupyter = spawnSync(python, ["-c", "import nbclient, sys; from jupyter_client.kernelspec import KernelSpecManager; sys.exit(0 if 'memvirt' in KernelSpecManager().find_kernel_specs() else 1)"]).status === 0;

function notebook(cells: string[]) {
  return {
    cells: cells.map((source) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { display_name: "TypeScript (memvirt)", language: "typescript", name: "memvirt" } },
    nbformat: 4,
    nbformat_minor: 4,
  };
}

describe.skipIf(!hasJupyter)("run-notebooks on a failing notebook", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-failing-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints the cell's number, its source line and the real message, without a Python traceback", () => {
    fs.writeFileSync(path.join(dir, "broken.ipynb"), JSON.stringify(notebook([
      "const sizeGiB = 3;\nconsole.log('setup ok');",
      "function admit(g: number) {\n  if (g > 1) throw new Error(`memory size ${g} GiB is over the host's 1 GiB`);\n}\nadmit(sizeGiB);",
      "const never = 1;",
    ])));
    const r = spawnSync(process.execPath, [path.join(root, "src", "scripts", "run-notebooks.mjs"), "--dir", dir, "--out", path.join(dir, "out")], { cwd: root, encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^FAIL .*broken\.ipynb: cell 2, line 2: Error: memory size 3 GiB is over the host's 1 GiB$/);
    expect(lines[1]).toBe("    2 |   if (g > 1) throw new Error(`memory size ${g} GiB is over the host's 1 GiB`);");
    expect(r.stderr).not.toMatch(/Traceback|nbclient|<Error>|evalmachine/);
    expect(lines.length).toBeLessThanOrEqual(5);
    // The executed copy up to the failing cell is kept for a look.
    const executed = JSON.parse(fs.readFileSync(path.join(dir, "out", "broken.ipynb"), "utf8"));
    expect(JSON.stringify(executed.cells[0].outputs)).toContain("setup ok");
  }, 120_000);
});
