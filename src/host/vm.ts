/**
 * A virtual machine as the hypervisor sees it: a P→M map, a host state byte per guest-physical
 * page, counters, and the guest OS and balloon driver running inside it.
 *
 *   guest-physical page p:  p2m[p]  (Int32, machine frame or -1)
 *                           hstate[p] (UNBACKED | RESIDENT | TRAPPED | HOST_SWAPPED | BALLOONED | SHARED)
 *
 * Invariants (checked by `checkInvariants`):
 * - p2m[p] ≥ 0 exactly when hstate[p] is RESIDENT, TRAPPED or SHARED; no private frame appears
 *   twice (a SHARED page maps a frame of the host's shared-frame table, counted by reference).
 * - stateCounts[s] equals the number of pages in state s; their sum is memoryPages.
 * - Only a guest access (or the double-paging read that precedes its reuse of a page) maps a page
 *   that had no frame, and the host tells its policies (`notifyFault`), so an estimator watching a
 *   page sees its first access in any state.
 * - BALLOONED pages are exactly the balloon driver's pinned pages; the guest never touches one
 *   (a touch is an internal error, not a silent miscount).
 */
import { inspect } from "node:util";
import { countOf } from "../util/plural";
import { formatBytes, formatCount, PAGE_SIZE_BYTES } from "../util/units";
import { AccessCosts } from "./costs";
import { BalloonDriver, BalloonSettings } from "./balloon-driver";
import { GuestOs, GuestPort, GuestSettings } from "./guest-os";
import { VmView } from "./host-policy";
import { MachineMemory } from "./machine-memory";
import { BALLOONED, HOST_STATE_NAMES, HOST_SWAPPED, RESIDENT, SHARED, TRAPPED, UNBACKED } from "./page-state";
import { PageContents } from "./page-contents";
import { SharedFrames } from "./shared-frames";
import { SwapDevice } from "./swap-device";
import { Workload } from "../workloads/workload";
import { DIRECT_LIMIT_PAGES } from "./virtual-space";
import type { ExclusiveCacheSettings } from "./host-config";
import { ExclusiveCache } from "./exclusive-cache";
import type { CacheEvent, NeedEstimate } from "./host-policy";

/**
 * The host services a VM needs: frames, the swap device, trap notification.
 * @internal
 */
export interface VmBackend {
  readonly machine: MachineMemory;
  readonly swap: SwapDevice;
  readonly costs: AccessCosts;
  /** Simulated seconds since the host started. */
  readonly nowSeconds: number;
  /** A free frame for `vm`, reclaiming synchronously (random host swap) if none is free. */
  allocateFrameFor(vm: Vm): number;
  /** A guest touched an invalidated page. */
  notifyTrap(vm: Vm, ppn: number): void;
  /** A guest touched a page with no frame (first touch or host swap-in); it has one now. */
  notifyFault(vm: Vm, ppn: number): void;
  /** The hypervisor saw an exclusive-cache event of `vm` (tracing policies hear of it). */
  notifyCacheEvent(vm: Vm, key: number, event: CacheEvent): void;
  /** Frames shared copy-on-write (content-based page sharing); absent in hosts without it. */
  readonly shared?: SharedFrames;
}

/**
 * A VM's configuration, already validated (sizes in pages).
 * @internal
 */
export interface VmSettings {
  name: string;
  memoryPages: number;
  minPages: number;
  maxPages: number;
  shares: number;
  guest: GuestSettings;
  balloon: BalloonSettings;
  /** A hypervisor exclusive cache below the VM (`tracing.exclusiveCache`); absent without one. */
  cache?: ExclusiveCacheSettings;
}

/**
 * Cumulative host-side counters of one VM. Faults the host takes on the guest's behalf are *host
 * faults*; in this lab a *hidden fault* is only a shadow-page-table fill (src/virt).
 * @internal
 */
export interface VmHostCounters {
  /** Copy-on-write breaks: stores that copied a shared page for this VM (page sharing). */
  cowBreaks: number;
  /** Host faults where the host allocated (and zeroed) a frame for a never-backed page. */
  hostAllocFaults: number;
  /** Guest accesses to host-swapped pages (host swap-ins on the guest's behalf). */
  hostSwapFaults: number;
  /** Host swap-ins caused by the guest paging out a page the host had already swapped. */
  doublePagingEvents: number;
  /** Accesses that trapped on an invalidated page. */
  trapFaults: number;
  /** Pages the host swapped out of this VM. */
  hostSwapOuts: number;
}

/**
 * One VM. Created by `Host.addVm`; use its getters to inspect it.
 *
 * @example
 * const vm = host.addVm({ name: "web", memory: "256 MiB", workload });
 * vm.residentPages; vm.balloonedPages; vm.hostSwappedPages;
 */
export class Vm {
  /** @internal */
  readonly index: number;
  readonly name: string;
  readonly memoryPages: number;
  readonly minPages: number;
  maxPages: number;
  shares: number;
  /** @internal */
  readonly p2m: Int32Array;
  /** @internal */
  readonly hstate: Uint8Array;
  /**
   * Pages in each host state, indexed by state.
   * @internal
   */
  readonly stateCounts = new Float64Array(HOST_STATE_NAMES.length);
  /** @internal */
  readonly guest: GuestOs;
  /** @internal */
  readonly balloon: BalloonDriver;
  /** @internal */
  readonly settings: VmSettings;
  targetPages: number;
  blocked = false;
  /** Simulated seconds spent blocked. */
  blockedSeconds = 0;
  /** Active pages as last published by a working-set estimator (null: no estimator). */
  estimatedActivePages: number | null = null;
  private readonly bootSeconds: number;
  /** What each guest page holds (content ids), when the VM was given contents; sharing needs it. */
  contents: PageContents | undefined;
  /**
   * The hypervisor exclusive cache below this VM (`tracing.exclusiveCache`); undefined without one.
   * @internal
   */
  readonly cache: ExclusiveCache | undefined;
  /** Memory need (pages) as last published by the exclusive cache's tracer (null: no tracer). */
  estimatedNeedPages: number | null = null;
  /** Its bound: "exact", "at-most" (v already meets the rule) or "more-than" (the tracked range does not); null with no estimate. */
  estimatedNeedBound: NeedEstimate["bound"] | null = null;

  cowBreaks = 0;
  hostAllocFaults = 0;
  hostSwapFaults = 0;
  doublePagingEvents = 0;
  trapFaults = 0;
  hostSwapOuts = 0;

  private readonly backend: VmBackend;

  /** @internal */
  constructor(index: number, settings: VmSettings, backend: VmBackend) {
    this.index = index;
    this.settings = settings;
    this.name = settings.name;
    this.memoryPages = settings.memoryPages;
    this.minPages = settings.minPages;
    this.maxPages = settings.maxPages;
    this.shares = settings.shares;
    this.targetPages = settings.maxPages;
    this.backend = backend;
    this.p2m = new Int32Array(settings.memoryPages).fill(-1);
    this.hstate = new Uint8Array(settings.memoryPages);
    this.bootSeconds = backend.nowSeconds;
    this.stateCounts[UNBACKED] = settings.memoryPages;
    this.cache = settings.cache ? new ExclusiveCache(settings.cache.capacityPages, backend.machine) : undefined;
    this.guest = new GuestOs(settings.guest, this, backend.costs);
    this.balloon = new BalloonDriver(settings.balloon, this.guest, this);
  }

  /** Machine frames this VM holds. */
  get residentPages(): number {
    return this.stateCounts[RESIDENT] + this.stateCounts[TRAPPED];
  }
  get hostSwappedPages(): number {
    return this.stateCounts[HOST_SWAPPED];
  }
  get balloonedPages(): number {
    return this.stateCounts[BALLOONED];
  }
  get balloonTargetPages(): number {
    return this.balloon.targetPages;
  }
  get balloonMaxPages(): number {
    return this.balloon.maxPages;
  }
  get accesses(): number {
    return this.guest.accesses;
  }
  get workload(): Workload | undefined {
    return this.guest.currentWorkload;
  }
  /** Direct memory v as the guest can use it: configured pages − the kernel's wired pages − the balloon. */
  get directPages(): number {
    return this.memoryPages - this.guest.settings.kernelPages - this.balloon.sizePages;
  }
  /** The exclusive cache's capacity in pages (null: no cache). */
  get cacheCapacityPages(): number | null {
    return this.cache ? this.cache.capacityPages : null;
  }
  /** Pages the exclusive cache holds (0 without one). */
  get cachePages(): number {
    return this.cache ? this.cache.sizePages : 0;
  }
  /** Disk reads the exclusive cache served (0 without one). */
  get cacheHits(): number {
    return this.cache ? this.cache.hits : 0;
  }
  /** Put hypercalls into the exclusive cache (0 without one). */
  get cachePuts(): number {
    return this.cache ? this.cache.puts : 0;
  }
  /** Simulated seconds this VM has run since it booted, not counting time blocked (its own time). */
  get runSeconds(): number {
    return this.backend.nowSeconds - this.bootSeconds - this.blockedSeconds;
  }

  /**
   * The ground truth beside any working-set estimate: the distinct guest-physical pages the
   * guest touched since the last call, counted exactly (not sampled); counting starts afresh.
   * The timeline calls it at every sample; policies never see it.
   *
   * @internal
   * @example
   * const touched = vm.takeTouchedPages(); // pages touched since the last sample
   */
  takeTouchedPages(): number {
    return this.guest.takeTouchedPages();
  }

  // ---- GuestPort: what the guest's accesses and I/O need from the host ----

  /** @internal */
  touch(ppn: number, write = false): number {
    const s = this.hstate[ppn];
    if (s === RESIDENT) return 0;
    if (s === SHARED) {
      // Mapped read-only: a read runs at memory speed; a write traps and copies (copy-on-write).
      if (!write) return 0;
      this.writePage(ppn);
      return this.backend.costs.trapNs + this.backend.costs.hostAllocNs;
    }
    if (s === TRAPPED) {
      this.setState(ppn, TRAPPED, RESIDENT);
      this.trapFaults++;
      this.backend.notifyTrap(this, ppn);
      return this.backend.costs.trapNs;
    }
    if (s === UNBACKED) {
      const stallNs = this.map(ppn, UNBACKED);
      this.hostAllocFaults++;
      this.backend.notifyFault(this, ppn);
      return this.backend.costs.hostAllocNs + stallNs;
    }
    if (s === HOST_SWAPPED) {
      const stallNs = this.swapIn(ppn);
      this.hostSwapFaults++;
      this.backend.notifyFault(this, ppn);
      return this.backend.costs.hostSwapReadNs + stallNs;
    }
    throw new Error(`internal: VM ${this.name} touched guest page ${ppn} in host state ${HOST_STATE_NAMES[s]}`);
  }

  /** @internal */
  readForPageOut(ppn: number): number {
    const s = this.hstate[ppn];
    if (s === HOST_SWAPPED) {
      // Double paging: the host must read the page back only for the guest to write it out.
      // Estimators hear of it as of a fault: the guest reuses the page at once, and that touch
      // finds it mapped.
      const stallNs = this.swapIn(ppn);
      this.doublePagingEvents++;
      this.backend.notifyFault(this, ppn);
      return this.backend.costs.hostSwapReadNs + stallNs;
    }
    if (s === RESIDENT || s === TRAPPED || s === SHARED) return 0; // device I/O reads through P→M, no trap
    throw new Error(`internal: VM ${this.name} paged out guest page ${ppn} in host state ${HOST_STATE_NAMES[s]}`);
  }

  /** @internal */
  evicted(slot: number): number {
    const cache = this.cache;
    if (cache === undefined) return 0;
    cache.put(slot);
    this.backend.notifyCacheEvent(this, slot, "put");
    return this.backend.costs.cachePutNs;
  }

  /** @internal */
  readFromDisk(slot: number): number {
    const cache = this.cache;
    if (cache === undefined) return this.backend.costs.guestDiskReadNs;
    // Virtual disk I/O passes through the hypervisor anyway: a miss costs nothing extra.
    if (cache.probe(slot)) {
      this.backend.notifyCacheEvent(this, slot, "probe-hit");
      return this.backend.costs.cacheHitNs;
    }
    this.backend.notifyCacheEvent(this, slot, "probe-miss");
    return this.backend.costs.guestDiskReadNs;
  }

  /** @internal */
  balloonPage(ppn: number): void {
    const s = this.hstate[ppn];
    if (s === RESIDENT || s === TRAPPED) {
      this.backend.machine.release(this.p2m[ppn]);
      this.p2m[ppn] = -1;
    } else if (s === SHARED) {
      this.dropShared(ppn);
    } else if (s === HOST_SWAPPED) {
      this.backend.swap.free(); // the guest promised not to need the contents
    } else if (s !== UNBACKED) {
      throw new Error(`internal: VM ${this.name} ballooned guest page ${ppn} in host state ${HOST_STATE_NAMES[s]}`);
    }
    this.setState(ppn, s, BALLOONED);
  }

  /** @internal */
  unballoonPage(ppn: number): void {
    if (this.hstate[ppn] !== BALLOONED) throw new Error(`internal: VM ${this.name} unballooned guest page ${ppn}, which is not ballooned`);
    this.setState(ppn, BALLOONED, UNBACKED);
  }

  // ---- host mechanisms ----

  /**
   * Swap out resident page `ppn` to the host swap device. False if the device is full.
   *
   * @internal
   * @example
   * vm.swapOut(17);
   */
  swapOut(ppn: number): boolean {
    const s = this.hstate[ppn];
    if (s !== RESIDENT && s !== TRAPPED && s !== SHARED) throw new Error(`internal: host swap-out of guest page ${ppn} in state ${HOST_STATE_NAMES[s]}`);
    if (!this.backend.swap.allocate()) return false;
    this.backend.swap.writes++;
    if (s === SHARED) this.dropShared(ppn);
    else this.backend.machine.release(this.p2m[ppn]);
    this.p2m[ppn] = -1;
    this.setState(ppn, s, HOST_SWAPPED);
    this.hostSwapOuts++;
    return true;
  }

  /**
   * Share page `ppn` (RESIDENT or TRAPPED, holding its own frame) copy-on-write: with `frame`
   * −1 its own frame becomes a shared frame; otherwise it maps the shared `frame` and its own
   * frame goes back to the machine (a merge). The caller has compared the contents.
   *
   * @internal
   * @example
   * a.sharePage(7, -1); b.sharePage(9, a.p2m[7]); // one frame freed
   */
  sharePage(ppn: number, frame: number): void {
    const s = this.hstate[ppn];
    const shared = this.backend.shared;
    if ((s !== RESIDENT && s !== TRAPPED) || !shared || !this.contents) throw new Error(`internal: sharing guest page ${ppn} in state ${HOST_STATE_NAMES[s]}`);
    if (frame < 0) {
      shared.adopt(this.p2m[ppn], this.contents.read(ppn));
    } else {
      this.backend.machine.release(this.p2m[ppn]);
      this.p2m[ppn] = frame;
      shared.addRef(frame);
      shared.merges++;
    }
    this.setState(ppn, s, SHARED);
  }

  /**
   * Guest pages of this VM that map a shared frame now (O(guest pages): for timeline samples).
   *
   * @internal
   * @example
   * vm.countSharedPages() // 0 without page sharing
   */
  countSharedPages(): number {
    const hstate = this.hstate;
    let n = 0;
    for (let p = 0; p < hstate.length; p++) if (hstate[p] === SHARED) n++;
    return n;
  }

  /**
   * The guest writes page `ppn`, changing its contents. A shared page traps first and is copied
   * into a new frame of its own (copy-on-write), which may make the host reclaim; the last
   * sharer just takes the frame back. A page without a frame only changes its content id.
   *
   * @internal
   * @example
   * vm.writePage(7);
   */
  writePage(ppn: number): void {
    const s = this.hstate[ppn];
    if (s === BALLOONED) return; // the guest promised not to touch it
    if (s === SHARED) {
      const shared = this.backend.shared!;
      const frame = this.p2m[ppn];
      if (shared.refCount(frame) === 1) {
        shared.disown(frame);
      } else {
        // Copy first, then drop the reference: the new frame may come from reclamation.
        const copy = this.backend.allocateFrameFor(this);
        shared.dropRef(frame);
        shared.cowBreaks++;
        this.cowBreaks++;
        this.p2m[ppn] = copy;
      }
      this.setState(ppn, SHARED, RESIDENT);
    }
    this.contents?.write(ppn);
  }

  private dropShared(ppn: number): void {
    const shared = this.backend.shared!;
    shared.dropRef(this.p2m[ppn]);
    shared.dropped++;
  }

  /**
   * Unmap a resident page so its next access traps.
   *
   * @internal
   * @example
   * vm.invalidate(5) // true if page 5 was resident
   */
  invalidate(ppn: number): boolean {
    if (ppn < 0 || ppn >= this.memoryPages || this.hstate[ppn] !== RESIDENT) return false;
    this.setState(ppn, RESIDENT, TRAPPED);
    return true;
  }

  /**
   * A random resident page (RESIDENT or TRAPPED), or -1 if the VM holds none.
   * Random probes first, then a scan from a random start, so the choice is uniform-ish and O(1)
   * when most pages are resident.
   *
   * @internal
   * @example
   * const p = vm.randomResidentPage(() => rng.next());
   */
  randomResidentPage(random: () => number): number {
    if (this.residentPages === 0) return -1;
    const P = this.memoryPages;
    const hstate = this.hstate;
    const resident = RESIDENT;
    const trapped = TRAPPED;
    for (let i = 0; i < 32; i++) {
      const p = Math.floor(random() * P);
      const s = hstate[p];
      if (s === resident || s === trapped) return p;
    }
    const start = Math.floor(random() * P);
    for (let i = 0; i < P; i++) {
      let p = start + i;
      if (p >= P) p -= P;
      const s = hstate[p];
      if (s === resident || s === trapped) return p;
    }
    return -1;
  }

  /**
   * Back `ppn` with a frame. Returns the time the guest waits for it: when the host has to swap
   * a page out first (the VM is at its limit, or no frame is free), the faulting access waits
   * for that write (`hostSwapWriteNs` each; swap-outs a policy starts are asynchronous).
   */
  private map(ppn: number, from: number): number {
    const swap = this.backend.swap;
    const writesBefore = swap.writes;
    const frame = this.backend.allocateFrameFor(this);
    this.p2m[ppn] = frame;
    this.setState(ppn, from, RESIDENT);
    return swap.writes === writesBefore ? 0 : (swap.writes - writesBefore) * this.backend.costs.hostSwapWriteNs;
  }

  private swapIn(ppn: number): number {
    // Free the slot first: with swap exactly full, the frame allocation may need to swap out.
    this.backend.swap.free();
    this.backend.swap.reads++;
    return this.map(ppn, HOST_SWAPPED);
  }

  private setState(ppn: number, from: number, to: number): void {
    this.hstate[ppn] = to;
    this.stateCounts[from]--;
    this.stateCounts[to]++;
  }

  /**
   * Check this VM's invariants, host and guest side (tests; O(pages)). Throws on a violation.
   *
   * @internal
   * @example
   * vm.checkInvariants();
   */
  checkInvariants(): void {
    const counts = new Float64Array(HOST_STATE_NAMES.length);
    for (let p = 0; p < this.memoryPages; p++) {
      const s = this.hstate[p];
      counts[s]++;
      const mapped = s === RESIDENT || s === TRAPPED || s === SHARED;
      if (mapped !== this.p2m[p] >= 0) throw new Error(`VM ${this.name} page ${p}: state ${HOST_STATE_NAMES[s]} but P→M ${this.p2m[p]}`);
    }
    for (let s = 0; s < counts.length; s++) {
      if (counts[s] !== this.stateCounts[s]) throw new Error(`VM ${this.name}: ${counts[s]} pages ${HOST_STATE_NAMES[s]} but counter says ${this.stateCounts[s]}`);
    }
    const pinned = this.balloon.pinnedPages();
    if (pinned.length !== this.stateCounts[BALLOONED]) throw new Error(`VM ${this.name}: balloon holds ${pinned.length} pages but ${this.stateCounts[BALLOONED]} are ballooned`);
    for (const p of pinned) if (this.hstate[p] !== BALLOONED) throw new Error(`VM ${this.name}: pinned page ${p} is ${HOST_STATE_NAMES[this.hstate[p]]}`);
    if (this.balloon.sizePages > this.balloon.maxPages) throw new Error(`VM ${this.name}: balloon ${this.balloon.sizePages} above its max ${this.balloon.maxPages}`);
    this.guest.checkInvariants();
    const cache = this.cache;
    if (cache) {
      if (cache.sizePages > cache.capacityPages) throw new Error(`VM ${this.name}: exclusive cache holds ${cache.sizePages} pages, above its capacity ${cache.capacityPages}`);
      // Exclusive: a cached block's page is not in guest memory.
      cache.forEach((key) => {
        const where = this.guest.vspace.get(key);
        if (where >= 0) throw new Error(`VM ${this.name}: block ${key} is both in the exclusive cache and in guest page ${where}`);
      });
    }
  }

  /**
   * One line on the VM: its name, sizes, what it holds now and what it runs (the host's
   * inspect view lists its VMs with it).
   *
   * @internal
   * @example
   * vm.describeNow() // '"web": 384 MiB configured; now 1,234 pages resident, ...'
   */
  describeNow(): string {
    const size = (pages: number) => formatBytes(pages * PAGE_SIZE_BYTES);
    const limits = [this.minPages > 0 ? `min ${size(this.minPages)}` : "", this.maxPages < this.memoryPages ? `max ${size(this.maxPages)}` : ""].filter(Boolean).join(", ");
    return `"${this.name}": ${size(this.memoryPages)} configured${limits ? ` (${limits})` : ""}; now ${formatCount(this.residentPages)} pages resident, ` +
      `${formatCount(this.balloonedPages)} ballooned, ${formatCount(this.hostSwappedPages)} host-swapped${this.blocked ? ", blocked" : ""}; runs ${this.workload?.name ?? "nothing (idle)"}`;
  }

  /**
   * What a bare `vm` at the end of a notebook cell prints (Node's inspector): a few lines
   * instead of its page arrays.
   *
   * @internal
   * @example
   * console.log(host.vm("web")); // Vm "web": 384 MiB configured; ...
   */
  [inspect.custom](): string {
    return [
      `Vm ${this.describeNow()}`,
      `  ${countOf(this.accesses, "access", "accesses")} so far; host faults: ${formatCount(this.hostAllocFaults)} allocations, ${formatCount(this.hostSwapFaults)} swap-ins, ` +
        `${formatCount(this.trapFaults)} traps; ${countOf(this.doublePagingEvents, "double-paging event")}; ${formatCount(this.guest.guestSwappedPages)} pages in guest swap`,
      `  host.setMax("${this.name}", size) limits it; a run's .timeline has its history (vm = "${this.name}")`,
    ].join("\n");
  }

  /**
   * Bytes of typed-array state this VM holds (host side + guest).
   * @internal
   */
  get stateBytes(): number {
    return this.p2m.byteLength + this.hstate.byteLength + this.guest.stateBytes + this.balloon.stateBytes + (this.cache?.stateBytes ?? 0);
  }

  /**
   * The most typed-array state a VM with these settings holds, estimated before it is built:
   * per configured page P→M (4 bytes), host state (1), guest flags (1), the guest's touched-page
   * record (1), P→V (4) and the guest's free stack (4); the balloon's pinned list (4 per page of its cap); the V→P direct table
   * (4 per virtual page, up to memory + guest swap and at most 2^24 pages).
   *
   * @internal
   * @example
   * Vm.estimateStateBytes(resolveVmSettings({ name: "web", memory: "1 GiB" }, "vms[0]")) // ≈ 7 MiB
   */
  static estimateStateBytes(settings: VmSettings): number {
    const P = settings.memoryPages;
    const virtualPages = Math.min(DIRECT_LIMIT_PAGES, P + settings.guest.swapPages);
    // An exclusive cache: five Int32 arrays per entry and an index of at least two slots per entry.
    const cacheBytes = settings.cache ? 28 * Math.max(16, settings.cache.capacityPages) : 0;
    return 15 * P + 4 * settings.balloon.maxPages + 4 * virtualPages + cacheBytes;
  }
}

// A VM serves its guest, the host's policies and the counters (GuestPort, VmView, VmHostCounters) through
// members tagged @internal, which the published .d.ts leaves out; so the class cannot say
// `implements` there, and this check keeps it complete instead.
type Serves<T extends GuestPort & VmView & VmHostCounters> = T;
type VmServesGuestAndPolicies = Serves<Vm>;
