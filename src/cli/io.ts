/**
 * How every command talks to the terminal.
 *
 * - stdout carries the result: human text, or one JSON document with `--json`.
 * - stderr carries progress bars and errors. An error is one line, naming the bad value and
 *   where it came from; a `MemvirtError` exits with its code (2 for bad input).
 */
import { SingleBar, Presets } from "cli-progress";
import { Command } from "commander";
import { MemvirtError } from "../util/errors";
import { describeFsError, EXIT_IO } from "../util/output-file";
import { checkRepeatedFlags } from "./flag-rules";

/** Options every command accepts. */
export interface CommonOptions {
  json?: boolean;
}

/**
 * Print a command's result: JSON on `--json`, otherwise the human text.
 *
 * @example
 * emit({ json: true }, { accesses: 10 }, () => "10 accesses");
 */
export function emit(options: CommonOptions, data: unknown, human: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/**
 * A warning on stderr: the run finished, but a number deserves a caveat.
 *
 * @example
 * warn("the trace ended during the warm-up; nothing was measured");
 */
export function warn(message: string): void {
  process.stderr.write(`memvirt: warning: ${message}\n`);
}

/**
 * Make stdout failures one line instead of a Node stack: a reader that went away
 * (`memvirt … | head -c1`, EPIPE) ends the process quietly; anything else (a full disk
 * behind `> file`) is one line naming stdout, exit 1. Call once, at start-up.
 *
 * @example
 * guardStdout();
 */
export function guardStdout(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
    process.stderr.write(`memvirt: error: cannot write to stdout: ${describeFsError(err)}\n`);
    process.exit(EXIT_IO);
  });
  // Nothing useful can be said when stderr itself is gone.
  process.stderr.on("error", () => {});
}

/**
 * Wrap a command action so that bad input becomes one line on stderr and a non-zero exit.
 * It first rejects flags given twice (commander would keep the last silently). Unexpected
 * errors (bugs) still print their stack: they are ours to fix, not the user's.
 *
 * @example
 * program.command("walk").action(action(async (opts) => { ... }));
 */
export function action<A extends unknown[]>(fn: (...args: A) => unknown | Promise<unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const cmd = args[args.length - 1];
      if (cmd instanceof Command) checkRepeatedFlags(cmd);
      await fn(...args);
    } catch (err) {
      if (err instanceof MemvirtError) {
        process.stderr.write(`memvirt: error: ${err.message}\n`);
        process.exitCode = err.exitCode;
        return;
      }
      throw err;
    }
  };
}

/** A progress callback: `done` out of `total` units of work. */
export type ProgressCallback = (done: number, total: number) => void;

/**
 * A progress bar on stderr for long runs; silent when stderr is not a terminal unless forced.
 * Returns the callback to hand to a run and a `stop()` to call when it finishes.
 *
 * @example
 * const bar = progressBar("simulating");
 * host.run({ seconds: 600, onProgress: bar.update });
 * bar.stop();
 */
export function progressBar(label: string, force = process.env.MEMVIRT_PROGRESS === "1"): { update: ProgressCallback; stop: () => void } {
  if (!force && !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr, hideCursor: false, noTTYOutput: true, notTTYSchedule: 1000 },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      if (!started) { bar.start(total, 0); started = true; }
      bar.setTotal(total);
      bar.update(done);
    },
    stop: () => { if (started) bar.stop(); },
  };
}

/**
 * Parse an integer flag, naming the flag when it is wrong.
 *
 * @example
 * parseIntFlag("--levels", "4") // 4
 */
export function parseIntFlag(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n)) throw new MemvirtError("expected an integer", { where: flag, value: text });
  return n;
}

/**
 * Check a flag against a list of choices, naming the flag and the choices when it is wrong.
 *
 * @example
 * parseChoice("--mode", "nested", ["native", "nested"]) // "nested"
 */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new MemvirtError(`expected one of ${choices.join(", ")}`, { where: flag, value: text });
  }
  return text as T;
}
