/**
 * Errors the user can act on.
 *
 * Invariant: every error that reaches a user names the bad value and where it came from
 * (a config path such as `vms[2].memory`, a CLI flag such as `--mode`, or `FILE:LINE` for a
 * trace). The CLI prints `error.message` as one line and exits with `exitCode`; it never prints
 * a stack for a `MemvirtError`.
 */

/**
 * Exit code for bad input (usage, config, trace).
 * @internal
 */
export const EXIT_USAGE = 2;

/**
 * An error caused by input the user wrote: a config value, a flag, a trace line.
 *
 * @example
 * throw new MemvirtError("memory must be positive", { where: "vms[0].memory", value: "-1 GiB" });
 * // message: "vms[0].memory: memory must be positive (got \"-1 GiB\")"
 */
export class MemvirtError extends Error {
  /** Where the bad value came from: a JSON path, a flag, or FILE:LINE. */
  readonly where: string | undefined;
  /** The offending value, as the user wrote it. */
  readonly value: unknown;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(problem: string, options: { where?: string; value?: unknown; exitCode?: number } = {}) {
    const got = "value" in options ? ` (got ${formatValue(options.value)})` : "";
    super(`${options.where ? `${options.where}: ` : ""}${problem}${got}`);
    this.name = "MemvirtError";
    this.where = options.where;
    this.value = options.value;
    this.exitCode = options.exitCode ?? EXIT_USAGE;
  }
}

/**
 * Render a user value for an error message: strings quoted, long values cut.
 *
 * @internal
 * @example
 * formatValue("abc") // '"abc"'
 */
export function formatValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Join a config path: `pathJoin("vms", 2, "memory")` gives `vms[2].memory`.
 *
 * @internal
 * @example
 * pathJoin("vms", 0, "memory") // "vms[0].memory"
 */
export function pathJoin(...parts: Array<string | number>): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else if (part !== "") out += out === "" ? part : `.${part}`;
  }
  return out;
}

/**
 * Re-point a `MemvirtError` from a library option path to the flag the user typed, e.g.
 * `tlb.entries` → `--tlb-entries`, so a CLI error names what was written. Paths not in `flags`
 * (and other errors) are returned unchanged; a path under a mapped one keeps its tail.
 *
 * @internal
 * @example
 * renameWhere(new MemvirtError("too big", { where: "tlb.entries", value: 1 }), { "tlb.entries": "--tlb-entries" }).message
 * // "--tlb-entries: too big (got 1)"
 */
export function renameWhere(err: unknown, flags: Record<string, string>): unknown {
  if (!(err instanceof MemvirtError) || err.where === undefined) return err;
  const where = err.where;
  const key = Object.keys(flags).filter((k) => where === k || where.startsWith(`${k}.`) || where.startsWith(`${k}[`)).sort((a, b) => b.length - a.length)[0];
  if (key === undefined) return err;
  const problem = err.message.slice(where.length + 2);
  const renamed = new MemvirtError(problem, { where: `${flags[key]}${where.slice(key.length)}`, exitCode: err.exitCode });
  return renamed;
}
