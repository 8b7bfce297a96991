/**
 * `walkCountTable`: cold-walk reference counts over a grid of settings, each one simulated (not
 * computed from the formula), next to the formula's prediction, for lessons and checks.
 */
import * as aq from "arquero";
import { PAGE_SIZES, leafLevelOf, type Levels, type PageSize } from "../mmu/page-size";
import type { ModeName } from "./mode-name";
import { walk } from "./walk";

/** Which settings to tabulate (each defaults to all). */
export interface WalkCountOptions {
  modes?: ModeName[];
  guestLevels?: Levels[];
  hostLevels?: Levels[];
  guestPageSizes?: PageSize[];
  hostPageSizes?: PageSize[];
}

/**
 * One row per combination: mode, guestLevels, hostLevels, guestPageSize, hostPageSize,
 * memoryReferences (simulated), formula, n and m (levels walked per dimension). Combinations a
 * mode cannot run (protected paging with guest pages larger than host pages) are skipped.
 *
 * @example
 * walkCountTable({ modes: ["nested"], guestPageSizes: ["4K"], hostPageSizes: ["4K", "2M", "1G"] })
 */
export function walkCountTable(options: WalkCountOptions = {}): aq.ColumnTable {
  const modes = options.modes ?? ["native", "protected", "shadow", "nested"];
  const rows: Array<Record<string, unknown>> = [];
  for (const mode of modes) {
    for (const gl of options.guestLevels ?? [4, 5]) {
      for (const hl of mode === "native" ? [4 as Levels] : options.hostLevels ?? [4, 5]) {
        for (const gps of options.guestPageSizes ?? PAGE_SIZES) {
          for (const hps of mode === "native" ? ["4K" as PageSize] : options.hostPageSizes ?? PAGE_SIZES) {
            if (mode === "protected" && leafLevelOf(gps) > leafLevelOf(hps)) continue;
            const w = walk({ mode, guestLevels: gl, hostLevels: hl, guestPageSize: gps, hostPageSize: hps });
            const n = gl - leafLevelOf(gps) + 1;
            const m = mode === "native" ? 0 : hl - leafLevelOf(hps) + 1;
            rows.push({ mode, guestLevels: gl, hostLevels: mode === "native" ? null : hl, guestPageSize: gps, hostPageSize: mode === "native" ? null : hps, n, m, memoryReferences: w.memoryReferences, formula: w.formula });
          }
        }
      }
    }
  }
  return aq.from(rows);
}
