/**
 * Rules commander does not enforce: a flag given twice (`--mode native --mode shadow`, where
 * commander silently keeps the last), and flags that do not apply to the rest of the command
 * line (`--mode native --host-levels 5`). Both are one-line errors naming the flag: a flag the
 * user typed must never be quietly ignored.
 */
import type { Command } from "commander";
import { MemvirtError } from "../util/errors";

const seenFlags = new WeakMap<Command, Map<string, number>>();

/**
 * Count how often each option of `cmd` appears, so `checkRepeatedFlags` can reject repeats.
 * Options that collect a list (a default that is an array, such as `--cost`) may repeat.
 *
 * @example
 * trackRepeatedFlags(program.commands.find((c) => c.name() === "walk")!);
 */
export function trackRepeatedFlags(cmd: Command): void {
  const seen = new Map<string, number>();
  seenFlags.set(cmd, seen);
  for (const option of cmd.options) {
    if (Array.isArray(option.defaultValue) || option.variadic) continue;
    const flag = option.long ?? option.short ?? option.name();
    cmd.on(`option:${option.name()}`, () => seen.set(flag, (seen.get(flag) ?? 0) + 1));
  }
}

/**
 * Throw a MemvirtError naming the first flag given more than once.
 *
 * @example
 * checkRepeatedFlags(cmd) // "--mode: given 2 times; give it once"
 */
export function checkRepeatedFlags(cmd: Command): void {
  for (const [flag, n] of seenFlags.get(cmd) ?? []) {
    if (n > 1) throw new MemvirtError(`given ${n} times; give it once`, { where: flag });
  }
}

/**
 * True when the user typed `flag` (not a default).
 *
 * @example
 * flagGiven(cmd, "--host-levels") // false for `memvirt walk --mode native`
 */
export function flagGiven(cmd: Command, flag: string): boolean {
  const option = cmd.options.find((o) => o.long === flag);
  if (option === undefined) throw new Error(`no option ${flag} on ${cmd.name()}`);
  return cmd.getOptionValueSource(option.attributeName()) === "cli";
}

/**
 * Reject the first of `flags` the user typed, with `problem` as the reason.
 *
 * @example
 * rejectFlags(cmd, ["--host-levels", "--host-page-size"], "native paging has no host page tables; drop it or pick another --mode");
 */
export function rejectFlags(cmd: Command, flags: readonly string[], problem: string): void {
  for (const flag of flags) {
    if (!flagGiven(cmd, flag)) continue;
    const option = cmd.options.find((o) => o.long === flag)!;
    const value = cmd.getOptionValue(option.attributeName());
    throw new MemvirtError(problem, typeof value === "string" ? { where: flag, value } : { where: flag });
  }
}
