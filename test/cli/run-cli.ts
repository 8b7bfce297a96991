/**
 * Run the memvirt CLI from source in a child process (so exit codes and stdout/stderr are the
 * real ones). Shared by every CLI test.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `memvirt ...args` with optional stdin. */
export function runCli(args: string[], input?: string | Buffer, cwd = root): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "src", "cli", "main.ts"), ...args], {
    cwd,
    input,
    encoding: "utf8",
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
