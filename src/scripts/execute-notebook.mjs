// Execute one notebook headless with a Jupyter kernel, through Debian's nbclient (the library
// behind `jupyter-nbconvert --execute`), and say exactly which cell failed and how.
//
// nbconvert alone cannot: when a tslab cell fails it prints "<Error>: " and a long Python
// traceback, and writes nothing, while the real message sits in the failing cell's stderr output.
// This driver always writes the executed notebook (up to and including the failing cell) and
// returns { ok, cellIndex, kind, message }, so the caller can read that cell's outputs.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { withCheckoutJupyterPath } from "./kernel-spec.mjs";

// This checkout's own kernelspec comes first, whatever another clone did to the global one.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

// Runs in Debian's python3 (argv: input, output, working folder, kernel name, timeout seconds).
const DRIVER = String.raw`
import json, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
src, dst, cwd, kernel, timeout = sys.argv[1:6]
nb = nbformat.read(src, as_version=4)
current = {"index": None}
def on_cell_execute(cell, cell_index):
    current["index"] = cell_index
client = NotebookClient(nb, kernel_name=kernel, timeout=int(timeout), resources={"metadata": {"path": cwd}}, on_cell_execute=on_cell_execute)
result = {"ok": True, "cellIndex": None, "kind": None, "message": None}
try:
    client.execute()
except CellExecutionError as e:
    result.update(ok=False, cellIndex=current["index"], kind="error", message=str(e).strip().splitlines()[-1] if str(e).strip() else "")
except CellTimeoutError as e:
    result.update(ok=False, cellIndex=current["index"], kind="timeout", message="")
except DeadKernelError as e:
    result.update(ok=False, cellIndex=current["index"], kind="dead-kernel", message=str(e).strip())
except Exception as e:
    lines = str(e).strip().splitlines()
    result.update(ok=False, cellIndex=current["index"], kind="other", message=type(e).__name__ + (": " + lines[-1] if lines else ""))
finally:
    nbformat.write(nb, dst)
print("MEMVIRT-RESULT " + json.dumps(result))
`;

/** Debian's python3, which has nbclient (the first python3 on PATH may be another). */
function python() {
  return fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

/**
 * Execute `input` with kernel `kernel` in folder `cwd`, writing the executed notebook to
 * `output` even when a cell fails.
 *
 * @param {{ input: string, output: string, cwd: string, kernel?: string, timeoutSeconds?: number }} options
 *   timeoutSeconds: per cell
 * @returns {Promise<{ ok: boolean, cellIndex: number | null, kind: "error" | "timeout" | "dead-kernel" | "other" | null, message: string | null, seconds: number }>}
 * @example
 * const r = await executeNotebook({ input: "notebooks/00-tour.ipynb", output: "reports/00-tour.ipynb", cwd: "notebooks" });
 * if (!r.ok) console.error(`cell ${r.cellIndex + 1} failed`);
 */
export function executeNotebook({ input, output, cwd, kernel = "memvirt", timeoutSeconds = 120 }) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(python(), ["-c", DRIVER, input, output, cwd, kernel, String(timeoutSeconds)], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, JUPYTER_PATH: withCheckoutJupyterPath(root, process.env.JUPYTER_PATH) } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr = (stderr + d).slice(-20_000); });
    const finish = (result) => resolve({ ...result, seconds: (Date.now() - t0) / 1000 });
    child.once("error", (e) => finish({ ok: false, cellIndex: null, kind: "other", message: `could not run ${python()}: ${e.message}` }));
    child.once("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("MEMVIRT-RESULT "));
      if (line) return finish(JSON.parse(line.slice("MEMVIRT-RESULT ".length)));
      // The driver itself failed (nbclient missing, unreadable notebook...): its last line says why.
      const last = stderr.trim().split("\n").filter(Boolean).at(-1) ?? `exit ${code}`;
      finish({ ok: false, cellIndex: null, kind: "other", message: last });
    });
  });
}
