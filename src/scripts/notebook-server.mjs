// Starting Jupyter Notebook for `npm start`, locked down:
//  - bound to 127.0.0.1, always with a token; the token reaches the server in a mode-0600 file
//    named by JUPYTER_TOKEN_FILE (Notebook 6.4 reads it at startup), never in argv, which `ps`
//    shows to every local user; the file is deleted once the server has read it, so kernels
//    inherit only a dead path;
//  - the URL is printed only once the server answers, for the port it really bound (read from
//    its runtime file `nbserver-<pid>.json`: Notebook moves to the next port when one is taken),
//    and only after checking that it refuses a request without the token.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { withCheckoutJupyterPath, servedKernel } from "./kernel-spec.mjs";
import { removeTokenFile, writeTokenFile } from "./notebook-token.mjs";
import { SetupError } from "./setup-error.mjs";

/** The port asked for when MEMVIRT_PORT is unset. */
export const DEFAULT_PORT = 8888;

/** The only address the server listens on. */
export const SERVER_HOST = "127.0.0.1";

/**
 * Parse the port the user asked for.
 *
 * @param {string | undefined} value e.g. `process.env.MEMVIRT_PORT`
 * @param {string} [where] where it came from, for the message
 * @returns {number}
 * @example
 * parsePort("8890") // 8890
 */
export function parsePort(value, where = "MEMVIRT_PORT") {
  if (value === undefined) return DEFAULT_PORT;
  const port = /^[0-9]{1,5}$/u.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new SetupError(`${where}: expected a port number 1-65535 (got ${JSON.stringify(value)})`);
  return port;
}

/**
 * The command, argv and environment that start the server. The token travels only as a file
 * path in the environment; this refuses to build a launch without one, or with the token in argv.
 *
 * @param {{ root: string, port: number, tokenFile: string, token: string, isRoot: boolean, baseEnv: Record<string, string | undefined> }} options
 * @returns {{ command: string, argv: string[], env: Record<string, string> }}
 * @example
 * notebookServerLaunch({ root, port: 8888, tokenFile, token, isRoot: false, baseEnv: process.env }).argv
 * // ["--no-browser", "--ip=127.0.0.1", "--port=8888", "--notebook-dir=…/notebooks", …]
 */
export function notebookServerLaunch({ root, port, tokenFile, token, isRoot, baseEnv }) {
  if (!tokenFile || !token) throw new SetupError("internal: refusing to start Jupyter without a token file", 1);
  const argv = [
    "--no-browser", `--ip=${SERVER_HOST}`, `--port=${port}`, `--notebook-dir=${path.join(root, "notebooks")}`,
    "--NotebookApp.open_browser=False",
  ];
  // Jupyter refuses to run as root without this. The token is then root's keys: see the README.
  if (isRoot) argv.push("--allow-root");
  if (argv.some((a) => a.includes(token))) throw new SetupError("internal: the token ended up in Jupyter's argv", 1);
  /** @type {Record<string, string>} */
  const env = {};
  for (const [key, value] of Object.entries(baseEnv)) if (value !== undefined) env[key] = value;
  // JUPYTER_TOKEN would win over the file; MEMVIRT_TOKEN would be inherited by every kernel.
  delete env.JUPYTER_TOKEN;
  delete env.MEMVIRT_TOKEN;
  env.JUPYTER_TOKEN_FILE = tokenFile;
  env.JUPYTER_PATH = withCheckoutJupyterPath(root, baseEnv.JUPYTER_PATH);
  return { command: "jupyter-notebook", argv, env };
}

/**
 * Why Jupyter's runtime folder is unsafe, if it is: Notebook writes the token into
 * `nbserver-<pid>.json` there with the default umask, so the folder must shut others out.
 *
 * @param {string} dir the runtime folder (`jupyter --runtime-dir`)
 * @returns {string | undefined} the problem, or undefined when it is missing or private
 * @example
 * runtimeDirProblem("/root/.local/share/jupyter/runtime") // undefined when mode 0700
 */
export function runtimeDirProblem(dir) {
  let stat;
  try {
    stat = fs.statSync(dir);
  } catch {
    return undefined;
  }
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `Jupyter's runtime folder ${dir} is open to other users (mode 0${mode.toString(8)}), and Jupyter writes the token into it; run \`chmod 700 ${dir}\``;
}

/**
 * The runtime files a Notebook server with this pid writes once it has bound its port
 * (Notebook 6: nbserver-PID.json; Notebook 7 / jupyter_server: jpserver-PID.json).
 *
 * @param {string} runtimeDir `jupyter --runtime-dir`
 * @param {number} pid the server's pid
 * @example
 * serverInfoFiles("/run", 42) // ["/run/nbserver-42.json", "/run/jpserver-42.json"]
 */
export function serverInfoFiles(runtimeDir, pid) {
  return [`nbserver-${pid}.json`, `jpserver-${pid}.json`].map((name) => path.join(runtimeDir, name));
}

/**
 * Read a server's runtime file: the port it really bound, its base URL and token.
 *
 * @param {string} text the file's text
 * @param {number} pid the pid the file must belong to
 * @returns {{ port: number, hostname: string, baseUrl: string, token: string, pid: number }}
 * @example
 * parseServerInfo('{"port":8889,"pid":42,"base_url":"/","hostname":"127.0.0.1","token":"…"}', 42).port // 8889
 */
export function parseServerInfo(text, pid) {
  const info = JSON.parse(text);
  if (info.pid !== pid) throw new Error(`runtime file of pid ${info.pid}, not ${pid}`);
  if (!Number.isInteger(info.port) || info.port < 1 || info.port > 65535) throw new Error(`runtime file without a port (got ${JSON.stringify(info.port)})`);
  const baseUrl = typeof info.base_url === "string" && info.base_url.endsWith("/") ? info.base_url : `${info.base_url ?? ""}/`;
  return { port: info.port, hostname: info.hostname ?? SERVER_HOST, baseUrl, token: info.token ?? "", pid };
}

/**
 * Wait until the server's runtime file appears (it is written after the port is bound), or fail
 * when the server exits first or the time runs out.
 *
 * @param {{ runtimeDir: string, child: import("node:child_process").ChildProcess, timeoutMs?: number, pollMs?: number }} options
 * @returns {Promise<ReturnType<typeof parseServerInfo>>}
 * @example
 * const { port } = await waitForServerInfo({ runtimeDir, child });
 */
export function waitForServerInfo({ runtimeDir, child, timeoutMs = 60_000, pollMs = 100 }) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const pid = /** @type {number} */ (child.pid);
    let timer;
    let lastProblem = "no runtime file yet";
    const exited = (code, signal) => {
      clearTimeout(timer);
      reject(new SetupError(`jupyter-notebook exited (${signal ?? `exit ${code}`}) before it served; its messages are above`, typeof code === "number" && code !== 0 ? code : 1));
    };
    if (child.exitCode !== null || child.signalCode !== null) return exited(child.exitCode, child.signalCode);
    child.once("exit", exited);
    const poll = () => {
      for (const file of serverInfoFiles(runtimeDir, pid)) {
        if (!fs.existsSync(file)) continue;
        try {
          const info = parseServerInfo(fs.readFileSync(file, "utf8"), pid);
          child.off("exit", exited);
          return resolve(info);
        } catch (error) {
          lastProblem = `${file}: ${error.message}`; // often half-written: poll again
        }
      }
      if (Date.now() >= deadline) {
        child.off("exit", exited);
        return reject(new SetupError(`jupyter-notebook did not report its port within ${timeoutMs / 1000}s (${lastProblem} in ${runtimeDir})`, 1));
      }
      timer = setTimeout(poll, pollMs);
    };
    poll();
  });
}

/**
 * One GET to the server; resolves to the HTTP status.
 *
 * @param {{ port: number, path: string, headers?: Record<string, string>, hostname?: string, timeoutMs?: number }} options
 * @returns {Promise<number>}
 * @example
 * await httpStatus({ port: 8888, path: "/api/status" }) // 403 without a token
 */
export function httpStatus({ port, path: urlPath, headers = {}, hostname = SERVER_HOST, timeoutMs = 10_000 }) {
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path: urlPath, headers, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on("error", reject);
  });
}

/**
 * Ask the server's status API with the token (in a header, so no log line carries it) and without.
 *
 * @param {{ port: number, baseUrl: string, token: string, hostname?: string }} server
 * @returns {Promise<{ withToken: number, withoutToken: number }>}
 * @example
 * await checkAuthentication({ port, baseUrl: "/", token }) // { withToken: 200, withoutToken: 403 }
 */
export async function checkAuthentication({ port, baseUrl, token, hostname = SERVER_HOST }) {
  const urlPath = `${baseUrl}api/status`;
  const withToken = await httpStatus({ hostname, port, path: urlPath, headers: { Authorization: `token ${token}` } });
  const withoutToken = await httpStatus({ hostname, port, path: urlPath });
  return { withToken, withoutToken };
}

/**
 * What is wrong with the server's answers, if anything: it must accept the token and refuse
 * anyone without it (a Jupyter config file can override the token or switch it off).
 *
 * @param {{ withToken: number, withoutToken: number }} statuses from {@link checkAuthentication}
 * @param {number} port the server's port, for the message
 * @returns {string | undefined}
 * @example
 * authenticationProblem({ withToken: 200, withoutToken: 403 }, 8888) // undefined
 */
export function authenticationProblem({ withToken, withoutToken }, port) {
  if (withoutToken >= 200 && withoutToken < 300) {
    return `the server on port ${port} answered a request without the token (HTTP ${withoutToken}): authentication is off, so it was stopped (does a Jupyter config file set NotebookApp.token = ''?)`;
  }
  if (withToken !== 200) {
    return `the server on port ${port} refused memvirt's token (HTTP ${withToken}), so it was stopped (does a Jupyter config file set its own NotebookApp.token or password?)`;
  }
  return undefined;
}

/**
 * The URL to open: the notebook tree with the token.
 *
 * @param {{ port: number, baseUrl?: string, token: string, hostname?: string }} server
 * @example
 * notebookUrl({ port: 8889, token: "ab…" }) // "http://127.0.0.1:8889/tree?token=ab…"
 */
export function notebookUrl({ port, baseUrl = "/", token, hostname = SERVER_HOST }) {
  return `http://${hostname}:${port}${baseUrl}tree?token=${encodeURIComponent(token)}`;
}

/**
 * Stop a child and wait for it to exit (SIGTERM lets Notebook shut its kernels down).
 *
 * @param {import("node:child_process").ChildProcess} child
 * @returns {Promise<void>}
 * @example
 * await stopChild(child);
 */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * Start Jupyter Notebook on the checkout's notebooks/ and resolve once it is serving, with the
 * token, on a port it really bound. On any failure the server is stopped before the rejection.
 *
 * @param {{ root: string, port: number, token: string, isRoot: boolean, baseEnv?: Record<string, string | undefined>, timeoutMs?: number, onSpawn?: (child: import("node:child_process").ChildProcess) => void }} options
 *   onSpawn: called as soon as the server process exists (to forward signals to it)
 * @returns {Promise<{ child: import("node:child_process").ChildProcess, port: number, url: string, kernel: { ok: boolean, line: string } }>}
 * @example
 * const { url, child } = await startNotebookServer({ root, port: 8888, token, isRoot: false });
 */
export async function startNotebookServer({ root, port, token, isRoot, baseEnv = process.env, timeoutMs, onSpawn }) {
  const { dir, file } = writeTokenFile(token);
  const cleanUp = () => removeTokenFile(dir);
  process.once("exit", cleanUp); // also when a signal ends setup mid-start
  let child;
  try {
    const launch = notebookServerLaunch({ root, port, tokenFile: file, token, isRoot, baseEnv });
    // Asked with the server's environment, so these are the folders the server will use.
    const paths = JSON.parse(execFileSync("jupyter", ["--paths", "--json"], { encoding: "utf8", env: launch.env }));
    const runtimeDir = paths.runtime[0];
    const problem = runtimeDirProblem(runtimeDir);
    if (problem) throw new SetupError(problem);
    fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    const kernel = servedKernel(paths.data, root);
    child = spawn(launch.command, launch.argv, { stdio: "inherit", cwd: root, env: launch.env });
    onSpawn?.(child);
    await new Promise((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error) => reject(new SetupError(`could not run ${launch.command}: ${error.message}`, 1)));
    });
    const info = await waitForServerInfo({ runtimeDir, child, timeoutMs });
    if (info.token !== token) throw new SetupError(`Jupyter serves on port ${info.port} with a token other than memvirt's, so it was stopped (does a Jupyter config file set NotebookApp.token?)`, 1);
    const refusal = authenticationProblem(await checkAuthentication({ ...info, token }), info.port);
    if (refusal) throw new SetupError(refusal, 1);
    return { child, port: info.port, url: notebookUrl({ ...info, token }), kernel };
  } catch (error) {
    if (child) await stopChild(child);
    throw error;
  } finally {
    // Notebook read it at startup (the runtime file came after); kernels inherit only a dead path.
    removeTokenFile(dir);
    process.off("exit", cleanUp);
  }
}
