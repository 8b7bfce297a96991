#!/usr/bin/env node
// memvirt's workbench setup, shared by `npm start`, `npm test` and `npm run reproduce`.
//
//   setup.mjs            Debian's Jupyter → npm ci → build → link `memvirt` → register kernel
//   setup.mjs --start    ... then serve notebooks/ on 127.0.0.1 with a token
//   setup.mjs --test     ... plus Chromium, then tsc --noEmit, vitest, every notebook, browser check
//
// Each step checks first and skips what is already done, so a second run takes seconds.
// Plain JavaScript on purpose: it runs before anything is installed or built.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = new Set(process.argv.slice(2));
const mode = args.has("--start") ? "start" : args.has("--test") ? "test" : "setup";
const JUPYTER_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "python3-nbclient", "python3-ipykernel"];
const TEST_PACKAGES = ["chromium"];
const started = Date.now();

function log(msg) {
  process.stderr.write(`[memvirt ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
}

function fail(msg, code = 1) {
  process.stderr.write(`memvirt setup: ${msg}\n`);
  process.exit(code);
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: "inherit", cwd: root, ...options });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

function mustRun(cmd, argv, what, options) {
  const status = run(cmd, argv, options);
  if (status !== 0) fail(`${what} failed (exit ${status}): ${cmd} ${argv.join(" ")}`, status);
}

function works(cmd, argv) {
  try {
    execFileSync(cmd, argv, { stdio: "ignore", timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

// 1. Debian packages. We check what the tools need rather than dpkg, so a machine that has
//    Jupyter some other way is left alone.
function missingDebianPackages(wantChromium) {
  const missing = [];
  if (!works("jupyter-notebook", ["--version"])) missing.push("jupyter-notebook");
  if (!works("jupyter-nbconvert", ["--version"])) missing.push("jupyter-nbconvert");
  // Debian's Jupyter runs on Debian's python3, which may not be the python3 first on PATH.
  const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (!works(python, ["-c", "import nbclient"])) missing.push("python3-nbclient");
  if (!works(python, ["-c", "import ipykernel"])) missing.push("python3-ipykernel");
  if (wantChromium && !fs.existsSync(chromiumPath())) missing.push("chromium");
  return missing;
}

function chromiumPath() {
  return process.env.MEMVIRT_CHROMIUM ?? "/usr/bin/chromium";
}

function ensureDebianPackages(wantChromium) {
  const missing = missingDebianPackages(wantChromium);
  if (missing.length === 0) return log("Debian packages: present");
  const line = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !works("apt-get", ["--version"])) {
    fail(`missing ${missing.join(", ")}; install them as root, then run this again:\n  sudo apt-get update && sudo ${line}`);
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  mustRun("apt-get", ["update", "-q"], "apt-get update", { env });
  mustRun("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], "apt-get install", { env });
  const still = missingDebianPackages(wantChromium);
  if (still.length) fail(`still missing after apt-get: ${still.join(", ")}`);
}

// 2. npm ci, skipped when node_modules was installed from this exact lock file.
function ensureNodeModules() {
  const lock = fs.readFileSync(path.join(root, "package-lock.json"));
  const hash = createHash("sha256").update(lock).digest("hex");
  const stamp = path.join(root, "node_modules", ".memvirt-lock-sha256");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === hash) return log("npm ci: node_modules is up to date");
  log("npm ci");
  mustRun("npm", ["ci", "--no-audit", "--no-fund"], "npm ci");
  fs.writeFileSync(stamp, hash);
}

// 3. Build, skipped when dist/ is newer than every source file.
function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuild() {
  const marker = path.join(root, "dist", "index.js");
  const inputs = Math.max(newestMtime(path.join(root, "src")), ...["package.json", "tsconfig.json", "tsconfig.build.json"].map((f) => fs.statSync(path.join(root, f)).mtimeMs));
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= inputs && fs.existsSync(path.join(root, "dist", "cli", "main.js"))) return log("build: dist/ is up to date");
  log("build (tsc -p tsconfig.build.json)");
  mustRun(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], "build");
  fs.utimesSync(marker, new Date(), new Date());
}

// 4. Make `import ... from "memvirt"` resolve to this checkout from notebooks/ (Node10
//    resolution walks up to node_modules/memvirt; a relative link survives moving the checkout).
function ensureSelfLink() {
  const link = path.join(root, "node_modules", "memvirt");
  try {
    if (fs.readlinkSync(link) === "..") return;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    fs.rmSync(link, { recursive: true, force: true });
  }
  fs.symlinkSync("..", link, "dir");
  log("linked node_modules/memvirt -> this checkout");
}

// 5. The `memvirt` kernel. tslab itself looks for node_modules/tslab above the notebook's
//    directory and hands over to it, so each checkout's notebooks run that checkout's tslab
//    and build; restarting the kernel reloads dist/.
function kernelDir() {
  let dataDir;
  try {
    dataDir = execFileSync("jupyter", ["--data-dir"], { encoding: "utf8" }).trim();
  } catch {
    dataDir = path.join(os.homedir(), ".local", "share", "jupyter");
  }
  return path.join(dataDir, "kernels", "memvirt");
}

function ensureKernel() {
  const spec = {
    argv: [process.execPath, path.join(root, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (memvirt)",
    language: "typescript",
    metadata: { memvirt: { checkout: root } },
  };
  const dir = kernelDir();
  const file = path.join(dir, "kernel.json");
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text) return log(`kernel "memvirt": registered (${file})`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
  log(`kernel "memvirt": registered at ${file}`);
}

function setup(wantChromium) {
  if (!fs.existsSync(path.join(root, "package-lock.json"))) fail("package-lock.json is missing; run from a memvirt checkout");
  ensureDebianPackages(wantChromium);
  ensureNodeModules();
  ensureBuild();
  ensureSelfLink();
  ensureKernel();
}

function startJupyter() {
  const token = process.env.MEMVIRT_TOKEN ?? randomBytes(24).toString("hex");
  const port = process.env.MEMVIRT_PORT ?? "8888";
  const argv = [
    "--no-browser", "--ip=127.0.0.1", `--port=${port}`, `--notebook-dir=${path.join(root, "notebooks")}`,
    `--NotebookApp.token=${token}`, "--NotebookApp.open_browser=False",
  ];
  if (typeof process.getuid === "function" && process.getuid() === 0) argv.push("--allow-root");
  log(`starting Jupyter Notebook on notebooks/ (kernel "TypeScript (memvirt)")`);
  process.stdout.write(`\n  memvirt notebooks: http://127.0.0.1:${port}/tree?token=${token}\n  (if the port is taken, Jupyter picks the next one and prints its own URL below)\n\n`);
  const child = spawn("jupyter-notebook", argv, { stdio: "inherit", cwd: root });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code) => process.exit(code ?? 0));
}

function test() {
  const steps = [
    ["type-check (tsc --noEmit)", process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit"]],
    ["vitest", process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run"]],
    ["notebooks, headless", process.execPath, [path.join(root, "src", "scripts", "run-notebooks.mjs"), "--html"]],
    ["browser check (headless Chromium)", process.execPath, [path.join(root, "src", "scripts", "browser-check.mjs")]],
  ];
  const times = [];
  for (const [name, cmd, argv] of steps) {
    log(`test: ${name}`);
    const t0 = Date.now();
    const status = run(cmd, argv);
    times.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    if (status !== 0) fail(`test step "${name}" failed (exit ${status})`, status);
  }
  log(`all tests passed: ${times.join(", ")}`);
}

setup(mode === "test");
if (mode === "start") startJupyter();
else if (mode === "test") test();
else log("setup done");
