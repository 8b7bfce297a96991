/**
 * Machine frames shared copy-on-write by guest pages of equal contents (content-based page
 * sharing, Waldspurger §4; Linux KSM's stable pages).
 *
 *   frame f:  refs[f]      Uint16, guest pages mapping it; 0xffff means "see overflow"
 *             overflow    Map<frame, count> for frames with ≥ 0xffff references (ESX's overflow table)
 *             contentOf[f] the content id it holds (NaN when not shared)
 *
 * A shared frame belongs to this table, not to one page: it is out of the free list and counted
 * once by conservation (free + Σ private frames + shared frames = machine frames). Pages mapping
 * it are in host state SHARED with P→M = f. The mechanism only; scanners decide what to merge.
 */
import { MachineMemory } from "./machine-memory";

const OVERFLOW = 0xffff;

/** Counters of the sharing mechanism (cumulative unless said otherwise). */
export interface SharingCounters {
  /** Merges done: each freed one machine frame. */
  merges: number;
  /** Writes to a shared page that copied it (copy-on-write breaks). */
  cowBreaks: number;
  /** Shared pages dropped by ballooning or host swapping. */
  dropped: number;
}

/**
 * The table of shared frames.
 *
 * @example
 * const shared = new SharedFrames(machine);
 * shared.adopt(frame, contentId); // refs 1
 * shared.addRef(frame);           // refs 2
 */
export class SharedFrames implements SharingCounters {
  private readonly refs: Uint16Array;
  private readonly overflow = new Map<number, number>();
  private readonly contentOf: Float64Array;
  private readonly machine: MachineMemory;
  /** Frames currently shared (holding at least one reference). */
  frameCount = 0;
  /** Guest pages currently mapping a shared frame. */
  pageCount = 0;
  merges = 0;
  cowBreaks = 0;
  dropped = 0;

  /** @internal */
  constructor(machine: MachineMemory) {
    this.machine = machine;
    this.refs = new Uint16Array(machine.totalPages);
    this.contentOf = new Float64Array(machine.totalPages).fill(NaN);
  }

  /**
   * References to frame `frame` (0 when it is not shared).
   *
   * @example
   * shared.refCount(f)
   */
  refCount(frame: number): number {
    const r = this.refs[frame];
    return r === OVERFLOW ? this.overflow.get(frame)! : r;
  }

  /**
   * The content id a shared frame holds (NaN when it is not shared).
   *
   * @example
   * shared.content(f)
   */
  content(frame: number): number {
    return this.contentOf[frame];
  }

  /**
   * Make a page's private frame shared, with that page as its one reference.
   *
   * @example
   * shared.adopt(vm.p2m[p], contents.read(p));
   */
  adopt(frame: number, contentId: number): void {
    if (this.refs[frame] !== 0) throw new Error(`internal: frame ${frame} is already shared`);
    this.refs[frame] = 1;
    this.contentOf[frame] = contentId;
    this.frameCount++;
    this.pageCount++;
  }

  /**
   * One more page maps `frame`.
   *
   * @example
   * shared.addRef(f);
   */
  addRef(frame: number): void {
    const r = this.refs[frame];
    if (r === 0) throw new Error(`internal: frame ${frame} is not shared`);
    if (r === OVERFLOW) this.overflow.set(frame, this.overflow.get(frame)! + 1);
    else if (r + 1 === OVERFLOW) {
      this.refs[frame] = OVERFLOW;
      this.overflow.set(frame, OVERFLOW);
    } else this.refs[frame] = r + 1;
    this.pageCount++;
  }

  /**
   * One page stops mapping `frame`; the last reference frees it to the machine.
   * Returns the references left.
   *
   * @example
   * shared.dropRef(f) // 0: the frame is free again
   */
  dropRef(frame: number): number {
    const left = this.refCount(frame) - 1;
    if (left < 0) throw new Error(`internal: frame ${frame} is not shared`);
    this.setRefs(frame, left);
    this.pageCount--;
    if (left === 0) {
      this.contentOf[frame] = NaN;
      this.frameCount--;
      this.machine.release(frame);
    }
    return left;
  }

  /**
   * The last page mapping `frame` takes it back as its private frame (a write with no other
   * sharer copies nothing).
   *
   * @example
   * shared.disown(f);
   */
  disown(frame: number): void {
    if (this.refCount(frame) !== 1) throw new Error(`internal: frame ${frame} has ${this.refCount(frame)} references, not 1`);
    this.refs[frame] = 0;
    this.contentOf[frame] = NaN;
    this.frameCount--;
    this.pageCount--;
  }

  private setRefs(frame: number, n: number): void {
    if (n >= OVERFLOW) {
      this.refs[frame] = OVERFLOW;
      this.overflow.set(frame, n);
    } else {
      this.refs[frame] = n;
      this.overflow.delete(frame);
    }
  }

  /** Bytes of typed-array state (2 + 8 per machine frame). */
  get stateBytes(): number {
    return this.refs.byteLength + this.contentOf.byteLength;
  }
}
