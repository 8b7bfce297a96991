#!/usr/bin/env node
// memvirt's workbench setup, shared by `npm start`, `npm test` and `npm run reproduce`.
//
//   setup.mjs            Debian's Jupyter and QEMU → npm ci → build → link `memvirt` → register kernel
//                        → the QEMU guest image (Debian's kernel .deb + busybox-static), once
//   setup.mjs --start    ... then serve notebooks/ on 127.0.0.1 with a token (notebook-server.mjs)
//   setup.mjs --test     ... plus Chromium, then tsc --noEmit, vitest, every notebook, browser check
//
// Each step checks first and skips what is already done, so a second run takes seconds.
// Plain JavaScript on purpose: it runs before anything is installed or built.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { checkoutJupyterPath, registerKernelSpec, withCheckoutJupyterPath } from "./kernel-spec.mjs";
import { parsePort, startNotebookServer } from "./notebook-server.mjs";
import { resolveToken } from "./notebook-token.mjs";
import { SetupError } from "./setup-error.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = new Set(process.argv.slice(2));
const mode = args.has("--start") ? "start" : args.has("--test") ? "test" : "setup";
const JUPYTER_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "python3-nbclient", "python3-ipykernel"];
const TEST_PACKAGES = ["chromium", "xxhash"];
const started = Date.now();
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

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
  // Debian's xxhsum: an independent check of our page hashes (test/contents) and the bench's yardstick.
  if (wantChromium && !works("xxhsum", ["--version"])) missing.push("xxhash");
  // Real guests (src/qemu): QEMU with software emulation, and a static busybox for the initramfs.
  // The guest's kernel is not installed: the image build downloads its .deb (apt-get download).
  if (!works(process.env.MEMVIRT_QEMU || "qemu-system-x86_64", ["--version"])) missing.push("qemu-system-x86");
  if (!isStaticElf(process.env.MEMVIRT_BUSYBOX || "/bin/busybox")) missing.push("busybox-static");
  return missing;
}

// True when `file` is an ELF executable with no PT_INTERP (Debian's `busybox` package, the
// dynamic one, also installs /bin/busybox; the guest has no libraries).
function isStaticElf(file) {
  try {
    const elf = fs.readFileSync(file);
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
    const phoff = Number(elf.readBigUInt64LE(0x20));
    for (let i = 0; i < elf.readUInt16LE(0x38); i++) if (elf.readUInt32LE(phoff + i * elf.readUInt16LE(0x36)) === 3) return false;
    return true;
  } catch {
    return false;
  }
}

function chromiumPath() {
  return process.env.MEMVIRT_CHROMIUM ?? "/usr/bin/chromium";
}

function ensureDebianPackages(wantChromium) {
  const missing = missingDebianPackages(wantChromium);
  if (missing.length === 0) return log("Debian packages: present");
  const line = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
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

// 5. The `memvirt` kernel (kernel-spec.mjs). tslab itself looks for node_modules/tslab above the
//    notebook's directory and hands over to it, so each checkout's notebooks run that checkout's
//    tslab and build; restarting the kernel reloads dist/. The global kernelspec is one per
//    machine, shared by every clone: taking it over from another checkout is said loudly. The
//    servers setup starts itself find this checkout's own copy first on JUPYTER_PATH.
function globalJupyterDataDir() {
  try {
    return execFileSync("jupyter", ["--data-dir"], { encoding: "utf8" }).trim();
  } catch {
    return path.join(os.homedir(), ".local", "share", "jupyter");
  }
}

function ensureKernel() {
  const own = registerKernelSpec(checkoutJupyterPath(root), root);
  if (own.status !== "unchanged") log(`kernel "memvirt" for this checkout's own servers: ${own.file}`);
  const global = registerKernelSpec(globalJupyterDataDir(), root);
  if (global.status === "repointed" || global.status === "foreign") process.stderr.write(`${global.lines.join("\n")}\n`);
  else for (const line of global.lines) log(line);
}

// 6. The QEMU guest image (src/qemu/guest-image.ts, from dist/): skipped in a second when its
//    inputs (kernel package, busybox, init script) are unchanged. The kernel .deb comes from
//    Debian's mirror through apt-get download; a fresh machine's apt lists may be empty, so as
//    root a failure is retried once after apt-get update.
// The builder's errors already begin "guest image: …" (their JSON-path-like where).
function imageFailure(error) {
  const text = String(error?.message ?? error);
  return text.startsWith("guest image") ? `QEMU ${text}` : `QEMU guest image: ${text}`;
}

function ensureGuestImage() {
  const { buildGuestImage } = createRequire(import.meta.url)(path.join(root, "dist", "qemu", "guest-image.js"));
  const build = () => buildGuestImage({ log });
  let image;
  try {
    image = build();
  } catch (error) {
    if (!isRoot || error?.name !== "MemvirtError" || !works("apt-get", ["--version"])) fail(imageFailure(error));
    log("guest image: apt-get update, then again");
    mustRun("apt-get", ["update", "-q"], "apt-get update", { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    try {
      image = build();
    } catch (again) {
      fail(imageFailure(again));
    }
  }
  const m = image.manifest;
  log(`guest image: ${image.built ? "built" : "up to date"} in ${image.dir} (${m.kernel.package} ${m.kernel.version}, busybox ${m.busybox.version})`);
}

function setup(wantChromium) {
  if (!fs.existsSync(path.join(root, "package-lock.json"))) fail("package-lock.json is missing; run from a memvirt checkout");
  ensureDebianPackages(wantChromium);
  ensureNodeModules();
  ensureBuild();
  ensureSelfLink();
  ensureKernel();
  ensureGuestImage();
}

async function startJupyter({ token, port }) {
  log(`starting Jupyter Notebook on notebooks/ (kernel "TypeScript (memvirt)")`);
  let child;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => (child ? child.kill(sig) : process.exit(130)));
  let server;
  try {
    server = await startNotebookServer({ root, port, token, isRoot, onSpawn: (c) => (child = c) });
  } catch (error) {
    if (error instanceof SetupError) fail(error.message, error.exitCode);
    throw error;
  }
  child.on("exit", (code) => process.exit(code ?? 0));
  const lines = [`memvirt notebooks: ${server.url}`];
  if (server.port !== port) lines.push(`(port ${port} is taken by another program; Jupyter serves on ${server.port})`);
  lines.push(server.kernel.line);
  lines.push("(the 403 above is memvirt checking that the server refuses requests without the token)");
  if (isRoot) lines.push("Running as root: the token is root's keys; anyone who has it runs code as root here.");
  process.stdout.write(`\n${lines.map((l) => `  ${l}`).join("\n")}\n\n`);
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

// Settings for the server are checked before anything is installed or started.
let serverSettings;
if (mode === "start") {
  try {
    serverSettings = { token: resolveToken(process.env).token, port: parsePort(process.env.MEMVIRT_PORT) };
  } catch (error) {
    if (error instanceof SetupError) fail(error.message, error.exitCode);
    throw error;
  }
}
setup(mode === "test");
if (mode === "start") await startJupyter(serverSettings);
else if (mode === "test") {
  // The notebook runs below take this checkout's kernelspec, whatever another clone did to the global one.
  process.env.JUPYTER_PATH = withCheckoutJupyterPath(root, process.env.JUPYTER_PATH);
  test();
} else log("setup done");
