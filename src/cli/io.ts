/**
 * How every command talks to the terminal.
 *
 * - stdout carries the result: human text, or one JSON document with `--json`.
 * - stderr carries progress bars and errors. An error is one line, naming the bad value and
 *   where it came from; a `MemvirtError` exits with its code (2 for bad input).
 */
import { SingleBar, Presets } from "cli-progress";
import { MemvirtError } from "../util/errors";

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
 * Wrap a command action so that bad input becomes one line on stderr and a non-zero exit.
 * Unexpected errors (bugs) still print their stack: they are ours to fix, not the user's.
 *
 * @example
 * program.command("walk").action(action(async (opts) => { ... }));
 */
export function action<A extends unknown[]>(fn: (...args: A) => unknown | Promise<unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
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
