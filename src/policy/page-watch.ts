/**
 * The pages an estimator watches in one VM, and which of them the guest has touched.
 *
 *   watch(p):  RESIDENT ──invalidate──▶ TRAPPED: the next access traps (onTrap)
 *              TRAPPED (left from an earlier sample), UNBACKED, HOST_SWAPPED: the next access
 *              faults anyway (onTrap or onHostFault); BALLOONED: the guest cannot touch it
 *   hit(p):    called from those hooks; marks p touched if it is watched
 *
 * Every operation is O(1): an estimator's cost per period is O(pages it watches), whatever the
 * VM's size. Watching never changes what the guest sees: an invalidated page is mapped again on
 * its next access, with its guest-side bits (referenced, dirty) untouched.
 */
import { HostControl } from "../host/host-policy";

/**
 * A set of watched pages of one VM.
 *
 * @example
 * const watch = new PageWatch(0);
 * watch.watch(host, 1234); // invalidates page 1234 of VM 0 if it is resident
 * // ... later, from onTrap / onHostFault: watch.hit(ppn)
 * watch.touchedCount / watch.size
 */
export class PageWatch {
  readonly vm: number;
  /** ppn → 1 once touched, 0 until then. */
  private readonly pages = new Map<number, number>();
  /** Watched pages touched so far. */
  touchedCount = 0;
  /** Pages this watch invalidated (host work), since it was created. */
  invalidations = 0;
  /** Watched pages seen touched (each one trap or fault the VM paid), since it was created. */
  hits = 0;

  constructor(vm: number) {
    this.vm = vm;
  }

  /** Pages watched now. */
  get size(): number {
    return this.pages.size;
  }

  /**
   * Watch page `ppn`: invalidate it if it is mapped, so that its next access is seen. False if
   * it is already watched.
   *
   * @example
   * watch.watch(host, 17) // true
   */
  watch(host: HostControl, ppn: number): boolean {
    if (this.pages.has(ppn)) return false;
    this.pages.set(ppn, 0);
    if (host.invalidate(this.vm, ppn)) this.invalidations++;
    return true;
  }

  /**
   * The guest touched `ppn` (a trap or a host fault): mark it if watched and not yet touched.
   *
   * @example
   * onTrap(host, vm, ppn) { if (vm === watch.vm) watch.hit(ppn); }
   */
  hit(ppn: number): boolean {
    if (this.pages.get(ppn) !== 0) return false;
    this.pages.set(ppn, 1);
    this.touchedCount++;
    this.hits++;
    return true;
  }

  /**
   * Whether watched page `ppn` was touched.
   *
   * @example
   * watch.isTouched(17)
   */
  isTouched(ppn: number): boolean {
    return this.pages.get(ppn) === 1;
  }

  /**
   * Stop watching every page (untouched ones stay invalidated: their next access costs one trap,
   * which is still sampling's cost, and mapping them back now would cost the host the same work).
   *
   * @example
   * watch.clear();
   */
  clear(): void {
    this.pages.clear();
    this.touchedCount = 0;
  }
}
