/**
 * Machine memory: the host's physical frames and its free list.
 *
 * Invariants:
 * - Every frame is either on the free stack, owned by exactly one guest page (its P→M entry), or
 *   shared copy-on-write by several (owned by the host's SharedFrames table).
 * - `freePages + usedPages === totalPages` at every step.
 * - State is one Int32Array (the free stack): 4 bytes per frame, no per-frame objects.
 */
import { MemvirtError } from "../util/errors";

/**
 * A pool of machine frames numbered 0..totalPages-1.
 *
 * @internal
 * @example
 * const m = new MachineMemory(1024);
 * const frame = m.allocate(); // 0
 * m.release(frame);
 */
export class MachineMemory {
  readonly totalPages: number;
  private readonly freeStack: Int32Array;
  private top: number;

  constructor(totalPages: number) {
    if (!Number.isInteger(totalPages) || totalPages <= 0) throw new MemvirtError("machine memory must be at least one page", { where: "host.memory", value: totalPages });
    if (totalPages > 2 ** 31 - 1) throw new MemvirtError("machine memory is limited to 2^31-1 pages (8 TiB)", { where: "host.memory", value: totalPages });
    this.totalPages = totalPages;
    this.freeStack = new Int32Array(totalPages);
    // Lowest frame numbers on top, so frames are handed out 0, 1, 2, ...
    for (let i = 0; i < totalPages; i++) this.freeStack[i] = totalPages - 1 - i;
    this.top = totalPages;
  }

  /** Frames on the free list. */
  get freePages(): number {
    return this.top;
  }

  /** Frames owned by guest pages. */
  get usedPages(): number {
    return this.totalPages - this.top;
  }

  /**
   * Take a free frame, or -1 if none is free (the caller must reclaim first).
   *
   * @example
   * new MachineMemory(4).allocate() // 0
   */
  allocate(): number {
    if (this.top === 0) return -1;
    return this.freeStack[--this.top];
  }

  /**
   * Return a frame to the free list.
   *
   * @example
   * m.release(frame);
   */
  release(frame: number): void {
    if (this.top >= this.totalPages) throw new Error(`internal: frame ${frame} released into a full free list`);
    this.freeStack[this.top++] = frame;
  }

  /**
   * A copy of the free frames (for invariant checks in tests; O(free)).
   *
   * @example
   * m.freeFrames().length === m.freePages
   */
  freeFrames(): Int32Array {
    return this.freeStack.slice(0, this.top);
  }
}
