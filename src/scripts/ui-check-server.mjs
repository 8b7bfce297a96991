// A private Jupyter Notebook server for the browser check that drives the real Notebook UI.
//
// Unlike `npm start`'s server (notebook-server.mjs) it serves a temporary COPY of notebooks/, so
// Jupyter's saves, autosaves and checkpoints can never write outputs into the tracked notebooks.
// Like it: 127.0.0.1 only, a random token that reaches Jupyter in a private file named by
// JUPYTER_TOKEN_FILE (never argv, which `ps` shows to everyone), and this checkout's kernel
// first on JUPYTER_PATH. A free port, and temporary runtime and config folders. `close()` shuts
// the kernels down, stops the server and removes the copy: call it in a `finally`.
//
// The copy lives in reports/ (git-ignored), not in /tmp: the kernel's TypeScript must resolve
// `memvirt` and its dependencies (arquero...) through the checkout's own node_modules, as from
// notebooks/; through a symlinked node_modules declaration emit fails ("cannot be named without
// a reference to memvirt/node_modules/arquero").
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { withCheckoutJupyterPath } from "./kernel-spec.mjs";
import { removeTokenFile, writeTokenFile } from "./notebook-token.mjs";

/** A port on 127.0.0.1 that nobody listened on a moment ago. */
async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Ids of processes whose command line contains `text` (Linux /proc; empty elsewhere). */
function processesMentioning(text) {
  let entries = [];
  try { entries = fs.readdirSync("/proc"); } catch { return []; }
  return entries.filter((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return false;
    try { return fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text); } catch { return false; }
  }).map(Number);
}

/**
 * Start `jupyter-notebook` on a copy of `notebooksDir` in reports/ui-check-XXXXXX/notebooks (with
 * `data` linked beside it, so lessons' `../data/...` paths work as under `npm start`).
 *
 * @param {{ root: string, notebooksDir?: string, startSeconds?: number }} options
 * @returns {Promise<{ base: string, notebookUrl: (name: string) => string, log: () => string, close: () => Promise<void> }>}
 * @example
 * const server = await startUiCheckServer({ root });
 * try { await page.goto(server.notebookUrl("00-tour")); } finally { await server.close(); }
 */
export async function startUiCheckServer({ root, notebooksDir = path.join(root, "notebooks"), startSeconds = 60 }) {
  const reports = path.join(root, "reports");
  fs.mkdirSync(reports, { recursive: true });
  const copy = fs.mkdtempSync(path.join(reports, "ui-check-"));
  const served = path.join(copy, "notebooks");
  fs.cpSync(notebooksDir, served, { recursive: true, filter: (src) => !src.includes(".ipynb_checkpoints") });
  if (fs.existsSync(path.join(root, "data"))) fs.symlinkSync(path.join(root, "data"), path.join(copy, "data"), "dir");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-ui-"));
  fs.chmodSync(tmp, 0o700);
  const runtimeDir = path.join(tmp, "runtime");
  const configDir = path.join(tmp, "config");
  fs.mkdirSync(runtimeDir, { mode: 0o700 });
  fs.mkdirSync(configDir);
  const token = randomBytes(24).toString("hex");
  const tokenFile = writeTokenFile(token);
  const port = await freePort();
  const argv = [
    "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--NotebookApp.port_retries=0",
    `--notebook-dir=${served}`, "--NotebookNotary.db_file=:memory:",
  ];
  if (typeof process.getuid === "function" && process.getuid() === 0) argv.push("--allow-root");
  const env = { ...process.env, JUPYTER_TOKEN_FILE: tokenFile.file, JUPYTER_RUNTIME_DIR: runtimeDir, JUPYTER_CONFIG_DIR: configDir };
  delete env.JUPYTER_TOKEN;
  delete env.MEMVIRT_TOKEN;
  env.JUPYTER_PATH = withCheckoutJupyterPath(root, process.env.JUPYTER_PATH);
  const child = spawn("jupyter-notebook", argv, { cwd: copy, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk) => { log = (log + chunk.toString()).slice(-20_000); };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = false;
  const exit = new Promise((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  child.once("error", (e) => { exited = true; keep(`could not start jupyter-notebook: ${e.message}\n`); });
  const base = `http://127.0.0.1:${port}/`;
  const redacted = () => log.split(token).join("<token>");
  const api = (method, route) => fetch(new URL(route, base), { method, headers: { Authorization: `token ${token}` } });

  async function close() {
    removeTokenFile(tokenFile.dir);
    if (!exited) {
      // Shut each kernel down through the server (it waits for them), then the server.
      try {
        const kernels = await (await api("GET", "api/kernels")).json();
        await Promise.all(kernels.map((k) => api("DELETE", `api/kernels/${k.id}`).catch(() => {})));
      } catch { /* the server may be gone already */ }
      child.kill("SIGTERM");
      const force = setTimeout(() => { if (!exited) child.kill("SIGKILL"); }, 5_000);
      await exit;
      clearTimeout(force);
    }
    // A kernel that outlived its server still names its connection file in our runtime folder.
    for (const pid of processesMentioning(runtimeDir)) {
      try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(copy, { recursive: true, force: true });
  }

  const deadline = Date.now() + startSeconds * 1000;
  for (;;) {
    let problem;
    if (exited) problem = "jupyter-notebook exited before serving";
    else if (Date.now() > deadline) problem = `jupyter-notebook did not answer on ${base} within ${startSeconds}s`;
    if (problem) {
      await close();
      throw new Error(`${problem}:\n${redacted().trim().split("\n").slice(-15).join("\n")}`);
    }
    try {
      if ((await api("GET", "api/status")).ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  removeTokenFile(tokenFile.dir); // read at startup; kernels inherit only a dead path

  return {
    base,
    notebookUrl: (name) => `${base}notebooks/${encodeURIComponent(name)}.ipynb?token=${token}`,
    log: redacted,
    close,
  };
}
