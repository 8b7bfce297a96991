/**
 * `/proc/PID/maps`, parsed: one entry per mapping, with its mapping kind.
 *
 *   55d0c8a00000-55d0c8a21000 r--p 00000000 fd:01 1234     /usr/bin/python3.11
 *   start-end                 perms offset  dev   inode    path (may hold spaces; absent for anon)
 */
import { MemvirtError } from "../util/errors";
import { mappingKindOfPath, type MappingKind } from "./mapping-kind";

/** One line of `/proc/PID/maps`. */
export interface MapsEntry {
  /** First byte of the mapping. */
  startAddress: bigint;
  /** One past its last byte. */
  endAddress: bigint;
  /** `r`, `w`, `x` or `-`, then `p` (private) or `s` (shared). */
  perms: string;
  /** The path column ("" for anonymous memory). */
  path: string;
  /** Its kind, from the path. */
  kind: MappingKind;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][ps]) [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+ *(.*)$/;

/**
 * Parse the text of `/proc/PID/maps`; `file` names it in the error for a line that is not a
 * mapping (`FILE:LINE: not a maps line`).
 *
 * @example
 * parseProcMaps("00400000-00401000 r-xp 00000000 08:01 42 /usr/bin/sleep\n", "maps")[0].kind // "file"
 */
export function parseProcMaps(text: string, file: string): MapsEntry[] {
  const entries: MapsEntry[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (m === null) throw new MemvirtError("not a /proc/PID/maps line", { where: `${file}:${i + 1}`, value: line });
    const path = m[4];
    entries.push({ startAddress: BigInt(`0x${m[1]}`), endAddress: BigInt(`0x${m[2]}`), perms: m[3], path, kind: mappingKindOfPath(path) });
  });
  return entries;
}
