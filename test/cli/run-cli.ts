/**
 * Run the memvirt CLI from source in a child process (so exit codes and stdout/stderr are the
 * real ones), and temp folders that are removed after the tests. Shared by every CLI test.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Ways to run the CLI in a harsher world. */
export interface CliWorld {
  /** `ulimit -f`: writes past this many KiB fail with EFBIG. */
  fileSizeLimitKiB?: number;
  /** A file descriptor for the child's stdout (e.g. opened on /dev/full). */
  stdoutFd?: number;
  /** A file descriptor for the child's stdin (instead of `input`). */
  stdinFd?: number;
}

/** The command line that runs `memvirt ...args` from source. */
export function cliArgv(args: string[]): string[] {
  return [process.execPath, "--import", "tsx", path.join(root, "src", "cli", "main.ts"), ...args];
}

/** Run `memvirt ...args` with optional stdin. */
export function runCli(args: string[], input?: string | Buffer, cwd = root, world: CliWorld = {}): CliResult {
  let argv = cliArgv(args);
  if (world.fileSizeLimitKiB !== undefined) argv = ["bash", "-c", `ulimit -f ${world.fileSizeLimitKiB}; exec "$0" "$@"`, ...argv];
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd,
    input,
    encoding: "utf8",
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
    timeout: 60_000,
    stdio: [world.stdinFd ?? "pipe", world.stdoutFd ?? "pipe", "pipe"],
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr };
}

/** Start `memvirt ...args` without waiting (to feed stdin slowly or send signals). */
export function startCli(args: string[], cwd = root): ChildProcess {
  const argv = cliArgv(args);
  const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["pipe", "pipe", "pipe"] });
  // A test may kill the child before it has read all its input: that EPIPE is expected.
  child.stdin!.on("error", () => {});
  return child;
}

const made: string[] = [];

/** A fresh temp folder, removed by `removeTempDirs` (call it from `afterAll`). */
export function tempDir(prefix = "memvirt-cli-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Remove every folder `tempDir` made. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Run the CLI without blocking the test's event loop (a fake QEMU in the same process must answer
 * it); killed after 60 s.
 *
 * @example
 * const r = await runCliAsync(["capture-vm", "--qmp", sock, "--out", file]);
 */
export function runCliAsync(args: string[]): Promise<CliResult> {
  const argv = cliArgv(args);
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => child.on("close", (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); }));
}
