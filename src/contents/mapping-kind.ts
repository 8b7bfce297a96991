/**
 * What kind of mapping a page came from, as `/proc/PID/maps` names it, plus `physical` for a
 * guest-physical memory dump (a whole VM, where the hypervisor sees no mappings).
 *
 * The kinds are stored in a snapshot as one byte each, so their codes are part of the file
 * format: append new kinds, never renumber.
 */

/** The mapping kinds, indexed by their code in a snapshot file. */
export const MAPPING_KINDS = ["anon", "file", "heap", "stack", "other", "physical"] as const;

/** A mapping kind: `anon` (no file), `file`, `heap` (`[heap]`), `stack` (`[stack]`), `other` (`[vdso]`, `[vvar]`...), `physical` (guest-physical memory). */
export type MappingKind = (typeof MAPPING_KINDS)[number];

/**
 * The kind of a `/proc/PID/maps` line from its path column.
 *
 * - no path: `anon` (private or shared anonymous memory, including thread stacks, which Linux
 *   no longer labels);
 * - `[heap]`: `heap`; `[stack]` (and the old `[stack:TID]`): `stack`;
 * - any other `[...]` (`[vdso]`, `[vvar]`, `[vsyscall]`, `[uprobes]`): `other`;
 * - anything else is a file, including `/dev/zero (deleted)`, `/memfd:x (deleted)` and SysV
 *   shared memory, which are shmem files to the kernel.
 *
 * @example
 * mappingKindOfPath("/usr/bin/python3.11") // "file"
 * mappingKindOfPath("[heap]")              // "heap"
 * mappingKindOfPath("")                    // "anon"
 */
export function mappingKindOfPath(path: string): MappingKind {
  if (path === "") return "anon";
  if (path === "[heap]") return "heap";
  if (path === "[stack]" || path.startsWith("[stack:")) return "stack";
  if (path.startsWith("[") && path.endsWith("]")) return "other";
  return "file";
}

/**
 * The one-byte code of a kind in a snapshot file.
 *
 * @example
 * mappingKindCode("heap") // 2
 */
export function mappingKindCode(kind: MappingKind): number {
  const code = (MAPPING_KINDS as readonly string[]).indexOf(kind);
  if (code < 0) throw new Error(`unknown mapping kind ${JSON.stringify(kind)}`);
  return code;
}
