/**
 * One readable line for a zlib failure on a trace, instead of zlib's stack: a truncated file
 * (the usual case: a copy or download cut short) is named as such.
 */

/**
 * The problem text for a zlib error, or undefined if `err` is not one (its code starts `Z_`).
 *
 * @example
 * gzipProblem(Object.assign(new Error("unexpected end of file"), { code: "Z_BUF_ERROR" }))
 * // "gzip data is truncated (unexpected end of file)"
 */
export function gzipProblem(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  if (!e || typeof e !== "object" || typeof e.code !== "string" || !e.code.startsWith("Z_")) return undefined;
  if (e.code === "Z_BUF_ERROR") return `gzip data is truncated (${e.message})`;
  return `not valid gzip data (${e.message})`;
}
