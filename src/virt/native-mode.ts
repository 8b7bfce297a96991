/**
 * Native paging: no hypervisor. The OS's table maps VA → PA and the MMU walks it directly, one
 * reference per level; page-table updates are plain stores. The baseline the other modes are
 * measured against.
 */
import type { WalkRecorder } from "../mmu/walk-recorder";
import { ModeBase, type ModeContext } from "./translation-mode";

/**
 * @internal
 * @example
 * const mode = new NativeMode(ctx); // normally made by `new Mmu({ mode: "native" })`
 */
export class NativeMode extends ModeBase {
  readonly name = "native" as const;

  constructor(ctx: ModeContext) {
    super(ctx, ctx.guest.leafLevel);
  }

  walk(page: number, write: boolean, rec: WalkRecorder | null): number {
    return this.walk1d(this.guest.pool, this.guestRoot, this.ctx.guestLevels, this.guestLeafLevel, page, write, false, rec);
  }

  coldWalk(): { references: number; formula: string } {
    const n = this.ctx.guestLevels - this.guestLeafLevel + 1;
    return { references: n, formula: `${n} (one reference per level${this.guestLeafLevel > 1 ? `, ${this.ctx.guestLevels} levels less ${this.guestLeafLevel - 1} for ${this.ctx.guestPageSize} pages` : ""})` };
  }
}
