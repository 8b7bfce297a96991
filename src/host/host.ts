/**
 * The host: machine memory, a hypervisor swap device, VMs, policies and a simulated clock.
 *
 *   ┌──────────────────────────── Host ────────────────────────────┐
 *   │ machine frames (free stack)        hypervisor swap device    │
 *   │ ┌── Vm "web" ──────────────┐  ┌── Vm "db" ───────────────┐   │
 *   │ │ P→M, host state per page │  │ ...                      │   │
 *   │ │ GuestOs + BalloonDriver  │  │                          │   │
 *   │ └──────────────────────────┘  └──────────────────────────┘   │
 *   │ policies (injected): tick every period through HostControl   │
 *   └──────────────────────────────────────────────────────────────┘
 *
 * Time advances in quanta (default 10 ms). Each quantum: due policies tick, balloon drivers move
 * toward their targets, then every unblocked VM runs its workload until its guest clock reaches
 * the end of the quantum (VM order rotates each quantum, so no VM always gets frames first).
 * A VM whose last access overran the quantum (a 5 ms disk read) carries the debt into the next.
 *
 * Invariants:
 * - Conservation: machine frames = free + Σ over VMs of resident (RESIDENT + TRAPPED) pages +
 *   shared frames (each counted once, however many SHARED pages map it); host swap slots used =
 *   Σ host-swapped pages. `checkInvariants()` verifies both, per state, and every shared frame's
 *   reference count and contents against the pages that map it.
 * - Admission: Σ min ≤ machine memory, and Σ memory ≤ machine memory + host swap, so host swap
 *   can never fill (every guest page holds at most one frame or one slot).
 * - A VM never holds more than `max` frames: at its limit, a new frame costs it one of its own
 *   pages, swapped at random (how a limit is enforced when the balloon has not caught up).
 * - The host never imports a policy; all randomness comes from the host seed, split by label.
 */
import { inspect } from "node:util";
import { MemvirtError, pathJoin } from "../util/errors";
import { checkSeed, Rng, Seed } from "../util/rng";
import { formatBytes, formatCount, PAGE_SIZE_BYTES, parsePages } from "../util/units";
import { createWorkload } from "../workloads/create-workload";
import { Workload } from "../workloads/workload";
import { AccessCosts, DEFAULT_COSTS, resolveCosts } from "./costs";
import { type ExclusiveCacheSettings, HostOptions, resolveHostSettings, resolveVmSettings, VmOptions, checkCallback, checkPositive, quantumIndex, wholeQuanta } from "./host-config";
import { Size } from "../workloads/validate";
import { CacheEvent, CacheTracerView, HostControl, HostPolicy, NeedEstimate } from "./host-policy";
import { cacheTracerFactory, CacheTracerFactory } from "./exclusive-cache";
import { MachineMemory } from "./machine-memory";
import { HOST_STATE_NAMES, RESIDENT, TRAPPED, HOST_SWAPPED, SHARED } from "./page-state";
import { ContentIdSpace, PageContents } from "./page-contents";
import { SharedFrames } from "./shared-frames";
import { PageSnapshot } from "../contents/page-snapshot";
import { Run, RunSettings } from "./run";
import { SwapDevice } from "./swap-device";
import { TimelineRecorder } from "./timeline-recorder";
import { Vm, VmBackend } from "./vm";
import { checkStateFits } from "../mmu/memory-budget";
import { checkWorkloadFits } from "./guest-capacity";

/** Options of `host.run(...)`. */
export interface RunOptions {
  /** Simulated seconds to run (a multiple of the host quantum). */
  seconds: number;
  /** Seconds between timeline samples (default 1; a multiple of the host quantum). */
  sampleEvery?: number;
  /** Called after each sample with simulated seconds done and total. */
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
  /** Check every invariant after every quantum (slow; for tests). */
  checkInvariants?: boolean;
}

/** A policy with its period in whole quanta. */
interface Scheduled {
  policy: HostPolicy;
  periodSteps: number;
}

/** Options accepted by `addVm` beyond VmOptions: where the options came from (for errors). */
export interface AddVmContext {
  /** Path of these options in an experiment file (default `vms[i]`). */
  where?: string;
  /** Directory relative trace paths resolve against. */
  baseDir?: string;
}

/**
 * A simulated host.
 *
 * @example
 * const host = new Host({ memory: "1 GiB", seed: 42, policies: [new ReclamationPolicy()] });
 * host.addVm({ name: "web", memory: "768 MiB", workload: { kind: "zipf", pages: "600 MiB", exponent: 0.9 } });
 * host.addVm({ name: "db", memory: "768 MiB", workload: { kind: "uniform", pages: "500 MiB" } });
 * const run = host.run({ seconds: 60, sampleEvery: 1 });
 */
export class Host {
  /** @internal */
  readonly machine: MachineMemory;
  /** @internal */
  readonly swap: SwapDevice;
  /** @internal */
  readonly costs: AccessCosts;
  readonly seed: Seed;
  readonly quantumSeconds: number;
  readonly vms: Vm[] = [];
  /**
   * Frames shared copy-on-write by pages of equal contents (page sharing).
   * @internal
   */
  readonly shared: SharedFrames;
  /**
   * Fresh content ids for every VM's pages (so no two VMs' private pages ever match).
   * @internal
   */
  readonly contentIds = new ContentIdSpace();
  private readonly rng: Rng;
  private readonly swapRng: Rng;
  private readonly randomForSwap: () => number;
  private readonly autoSwap: boolean;
  private readonly scheduled: Scheduled[] = [];
  private step = 0;
  private label = "none";
  private events: Array<{ t: number; text: string }> = [];
  private readonly where: string;
  private schedule: Array<{ step: number; order: number; label: string; action: () => void }> = [];
  /** The most typed-array state the host and its VMs may hold (checked against the budget). */
  private estimatedStateBytes: number;
  private scheduleOrder = 0;
  /** The exclusive caches' tracer, built when the first VM with `tracing.exclusiveCache` is added. */
  private tracer: ReturnType<CacheTracerFactory> | undefined;

  constructor(options: HostOptions, where = "host") {
    const settings = resolveHostSettings(options, where);
    this.where = where;
    // Refused before the frames are allocated (4 bytes each), not by a RangeError later.
    this.estimatedStateBytes = 4 * settings.memoryPages;
    checkStateFits(this.estimatedStateBytes, `a host of ${describePages(settings.memoryPages)}`, pathJoin(where, "memory"), options.memory);
    this.machine = new MachineMemory(settings.memoryPages);
    this.shared = new SharedFrames(this.machine);
    this.autoSwap = settings.swapPages === undefined;
    this.swap = new SwapDevice(settings.swapPages ?? 0);
    this.costs = resolveCosts(options.costs, pathJoin(where, "costs"));
    this.seed = checkSeed(options.seed ?? 1, pathJoin(where, "seed"));
    this.rng = new Rng(this.seed);
    this.swapRng = this.rng.split("host:swap");
    const swapRng = this.swapRng;
    this.randomForSwap = () => swapRng.next();
    this.quantumSeconds = settings.quantumSeconds;
    for (const policy of options.policies ?? []) this.addPolicy(policy);
  }

  // ---- configuration ----

  /**
   * Add a VM. Sizes are page counts or strings ("512 MiB"); the workload is a Workload object or
   * a JSON spec (`{"kind": "zipf", ...}`), built with this host's seed split by the VM's name.
   *
   * @example
   * const vm = host.addVm({ name: "web", memory: "512 MiB", max: "384 MiB", workload: { kind: "uniform", pages: "300 MiB" } });
   */
  addVm(options: VmOptions, context: AddVmContext = {}): Vm {
    const index = this.vms.length;
    const where = context.where ?? `vms[${index}]`;
    const settings = resolveVmSettings(options, where);
    if (this.vms.some((v) => v.name === settings.name)) throw new MemvirtError("a VM with this name already exists", { where: pathJoin(where, "name"), value: settings.name });
    // Before anything changes: a refused VM leaves the host as it was.
    const tracer = settings.cache ? this.tracerFor(settings.cache, pathJoin(where, "tracing", "exclusiveCache"), options.tracing?.exclusiveCache?.size) : undefined;
    // Admission control, as ESX does it: reservations must fit in machine memory, and every
    // guest page must have a place (a frame or a swap slot).
    const M = this.machine.totalPages;
    const minSum = this.vms.reduce((a, v) => a + v.minPages, 0) + settings.minPages;
    if (minSum > M) throw new MemvirtError(`reservations (min) add up to ${describePages(minSum)}, more than the host's ${describePages(M)}`, { where: pathJoin(where, "min"), value: options.min });
    const memSum = this.vms.reduce((a, v) => a + v.memoryPages, 0) + settings.memoryPages;
    const swapPages = this.autoSwap ? this.swap.capacityPages + settings.memoryPages - settings.minPages : this.swap.capacityPages;
    if (memSum > M + swapPages) {
      throw new MemvirtError(
        `the VMs' memory adds up to ${describePages(memSum)}, more than the host's ${describePages(M)} of memory plus ${describePages(swapPages)} of swap; ` +
        `give the host swap ("swap": "auto") or shrink the VMs`,
        { where: pathJoin(where, "memory"), value: options.memory },
      );
    }
    // The VM's state must fit beside the host's and the other VMs', checked before any of it
    // (or its workload) is built.
    const vmStateBytes = Vm.estimateStateBytes(settings);
    checkStateFits(this.estimatedStateBytes + vmStateBytes, `with VM "${settings.name}" (${formatBytes(settings.memoryPages * PAGE_SIZE_BYTES)}, about ${formatBytes(vmStateBytes)} of state), the host`, pathJoin(where, "memory"), options.memory);
    let workload: Workload | undefined;
    if (options.workload !== undefined) workload = this.buildWorkload(options.workload, settings.name, pathJoin(where, "workload"), context.baseDir);
    checkWorkloadFits(workload, settings.guest, pathJoin(where, "workload"));
    if (this.autoSwap) this.swap.capacityPages = swapPages;
    this.estimatedStateBytes += vmStateBytes;
    const vm = new Vm(index, settings, this);
    if (settings.cache && tracer) {
      if (!this.tracer) {
        // It ticks first, so policies that allocate from its estimates see this period's.
        this.tracer = tracer;
        this.scheduled.unshift({ policy: tracer, periodSteps: Math.max(1, Math.round(tracer.periodSeconds / this.quantumSeconds)) });
      }
      tracer.traceVm(index, settings.cache);
    }
    if (options.contents !== undefined) vm.contents = this.buildContents(options.contents, settings.name, settings.memoryPages, pathJoin(where, "contents"));
    this.vms.push(vm);
    vm.guest.timeNs = this.step * this.quantumNs;
    vm.guest.boot();
    vm.guest.setWorkload(workload);
    return vm;
  }

  /**
   * Add a policy; it ticks from the next quantum on, every `periodSeconds`.
   *
   * @example
   * host.addPolicy(new ReclamationPolicy({ periodSeconds: 1 }));
   */
  addPolicy(policy: HostPolicy): void {
    if (typeof policy !== "object" || policy === null || typeof policy.tick !== "function") {
      throw new MemvirtError("must be a policy object with a tick(host) method", { where: pathJoin(this.where, "policies"), value: String(policy) });
    }
    const period = checkPositive(policy.periodSeconds, pathJoin(this.where, "policies", policy.name ?? "?", "periodSeconds"));
    this.scheduled.push({ policy, periodSteps: Math.max(1, Math.round(period / this.quantumSeconds)) });
  }

  /** The policies, in the order they tick. */
  get policies(): HostPolicy[] {
    return this.scheduled.map((s) => s.policy);
  }

  /**
   * A VM by name.
   *
   * @example
   * host.vm("web").residentPages
   */
  vm(name: string): Vm {
    const vm = this.vms.find((v) => v.name === name);
    if (!vm) throw new MemvirtError(`no such VM (VMs: ${this.vms.map((v) => v.name).join(", ") || "none"})`, { where: "vm", value: name });
    return vm;
  }

  /**
   * Change a VM's limit at run time (e.g. to balloon it down to X). The reclamation policy
   * reclaims down to it; allocations above it swap the VM's own pages.
   *
   * @example
   * host.setMax("web", "128 MiB");
   */
  setMax(name: string, max: Size): void {
    const vm = this.vm(name);
    const pages = parsePages(max, `${name}.max`);
    if (pages > vm.memoryPages || pages < vm.minPages || pages <= vm.guest.settings.kernelPages) {
      throw new MemvirtError(`must be between the VM's min (${vm.minPages}), above its kernel's ${vm.guest.settings.kernelPages} pages, and its memory (${vm.memoryPages} pages)`, { where: `${name}.max`, value: max });
    }
    vm.maxPages = pages;
    if (vm.targetPages > pages) vm.targetPages = pages;
    this.note(`the limit of ${name} is set to ${describePages(pages)}`);
  }

  /**
   * Give a VM a new workload (a Workload object or a JSON spec), replacing its current one.
   * Specs are built with this host's seed split by the VM's name, as in `addVm`.
   *
   * @example
   * host.setWorkload("web", { kind: "zipf", pages: "200 MiB", exponent: 1 });
   */
  setWorkload(name: string, workload: Workload | Record<string, unknown> | undefined): void {
    const vm = this.vm(name);
    const built = workload === undefined ? undefined : this.buildWorkload(workload, `${name}#${this.step}`, `${name}.workload`);
    checkWorkloadFits(built, vm.guest.settings, `${name}.workload`);
    vm.guest.setWorkload(built);
  }

  /**
   * Run `action` at simulated time `atSeconds` (rounded to a quantum), before that quantum's
   * policies tick: change a limit, resize a toucher's working set, and so on. The label goes
   * into the run's events. An action at or after the end of a run (t = its last quantum's end)
   * waits for the next `run`, and that run's events say so; an experiment file, which has one
   * run, rejects such events when it loads.
   *
   * @example
   * host.at(30, "web's working set grows", () => toucher.setWorkingSetPages("400 MiB"));
   */
  at(atSeconds: number, label: string, action: () => void): void {
    if (typeof atSeconds !== "number" || !Number.isFinite(atSeconds) || atSeconds < 0) throw new MemvirtError("must be a time in seconds, at least 0", { where: "at", value: atSeconds });
    if (typeof label !== "string") throw new MemvirtError("must be a string (\"\" for no event line)", { where: "at.label", value: label });
    if (typeof action !== "function") throw new MemvirtError("must be a function to call at that time, e.g. () => host.setMax(\"web\", \"256 MiB\")", { where: "at.action", value: action });
    const step = Math.max(this.step, quantumIndex(atSeconds, this.quantumSeconds));
    this.schedule.push({ step, order: this.scheduleOrder++, label, action });
    this.schedule.sort((a, b) => a.step - b.step || a.order - b.order);
  }

  private buildContents(spec: NonNullable<VmOptions["contents"]>, vmName: string, memoryPages: number, where: string): PageContents {
    const rng = this.rng.split(`contents:${vmName}`);
    if (spec instanceof PageSnapshot) return PageContents.fromSnapshot(memoryPages, spec, this.contentIds, rng);
    return PageContents.fromModel(memoryPages, spec, this.contentIds, rng, where);
  }

  private buildWorkload(spec: Workload | Record<string, unknown>, vmName: string, where: string, baseDir?: string): Workload {
    if (spec !== null && typeof spec === "object" && typeof (spec as Workload).fill === "function") return spec as Workload;
    return createWorkload(spec, this.rng.split(`vm:${vmName}`), where, { baseDir });
  }

  // ---- the clock ----

  private get quantumNs(): number {
    return this.quantumSeconds * 1e9;
  }

  /** Simulated seconds since the host started. */
  get nowSeconds(): number {
    return this.step * this.quantumSeconds;
  }

  /**
   * Run every VM for `seconds` of simulated time, sampling the timeline every `sampleEvery`.
   * Runs continue where the last one ended.
   *
   * @example
   * const run = host.run({ seconds: 30, sampleEvery: 0.5 });
   * run.timeline.columnNames();
   */
  run(options: RunOptions): Run {
    if (typeof options !== "object" || options === null) throw new MemvirtError("expected { seconds, sampleEvery }", { where: "run", value: options });
    const seconds = checkPositive(options.seconds, "run.seconds");
    checkCallback(options.onProgress, "run.onProgress");
    const sampleEvery = options.sampleEvery === undefined ? Math.min(1, seconds) : checkPositive(options.sampleEvery, "run.sampleEvery");
    const q = this.quantumSeconds;
    const steps = wholeQuanta(seconds, q, "run.seconds");
    const sampleSteps = wholeQuanta(sampleEvery, q, "run.sampleEvery");
    if (sampleSteps > steps) throw new MemvirtError(`must not exceed run.seconds (${seconds})`, { where: "run.sampleEvery", value: sampleEvery });
    this.events = [];
    const recorder = new TimelineRecorder(this, sampleEvery, this.nowSeconds + steps * q);
    const quantumNs = this.quantumNs;
    const vms = this.vms;
    for (let s = 0; s < steps; s++) {
      const step = this.step;
      while (this.schedule.length > 0 && this.schedule[0].step <= step) {
        const due = this.schedule.shift()!;
        due.action();
        if (due.label) this.note(due.label);
      }
      for (const sch of this.scheduled) if (step % sch.periodSteps === 0) sch.policy.tick(this);
      // The sample at t is taken here, after what happens at the instant t (scheduled actions,
      // policy ticks), so its row shows the state the events at t describe, not the one before.
      if (s > 0 && s % sampleSteps === 0) {
        recorder.sample(this);
        options.onProgress?.(s * q, steps * q);
      }
      const untilNs = (step + 1) * quantumNs;
      for (const vm of vms) vm.balloon.step(q, untilNs);
      // Content writes (a content model's write rate) break sharing copy-on-write.
      for (const vm of vms) if (vm.contents && !vm.blocked) for (const p of vm.contents.pagesToWrite(q)) vm.writePage(p);
      recorder.observe(this);
      const n = vms.length;
      for (let k = 0; k < n; k++) {
        const vm = vms[(step + k) % n];
        if (vm.blocked) {
          if (vm.guest.timeNs < untilNs) vm.guest.timeNs = untilNs;
          vm.blockedSeconds += q;
        } else {
          vm.guest.run(untilNs);
        }
      }
      this.step++;
      if (options.checkInvariants) this.checkInvariants();
    }
    // The last sample: the instant at the end belongs to the next run, which ticks there first.
    recorder.sample(this);
    options.onProgress?.(steps * q, steps * q);
    if (this.schedule.length > 0) {
      // Not silent: actions after this run's last quantum wait for the next run.
      const first = this.schedule[0].step * q;
      const last = this.schedule[this.schedule.length - 1].step * q;
      const n = this.schedule.length;
      const when = first === last ? `at ${+first.toFixed(6)} s` : `from ${+first.toFixed(6)} s to ${+last.toFixed(6)} s`;
      this.note(`${n} scheduled action${n === 1 ? "" : "s"} (${when}) ${n === 1 ? "falls" : "fall"} after this run's last quantum and ${n === 1 ? "has" : "have"} not run; ${n === 1 ? "it runs" : "they run"} when the host runs on`);
    }
    return recorder.finish(this, this.runSettings(), this.events, this.runWarnings());
  }

  /**
   * What a reader of the run must not miss. An overcommitted host with no policy is the big one:
   * `memvirt run` adds reclamation by default, `new Host()` cannot (the host never imports a
   * policy), so the same experiment in code would quietly run without ballooning.
   */
  private runWarnings(): string[] {
    const warnings: string[] = [];
    const configured = this.configuredPages;
    if (this.overcommittedWithoutPolicy) {
      warnings.push(
        `the host is overcommitted (the VMs' memory adds up to ${describePages(configured)}, more than its ${describePages(this.machine.totalPages)}) and runs no policy: ` +
        `nothing balloons and there are no reclamation states; the host only swaps random pages when it runs out of frames. ` +
        `For ESX's reclamation (what \`memvirt run\` does by default), pass policies: [new ReclamationPolicy()] to new Host(...), or call host.addPolicy(new ReclamationPolicy())`,
      );
    }
    return warnings;
  }

  private runSettings(): RunSettings {
    const c = this.costs;
    const diff = (Object.keys(DEFAULT_COSTS) as Array<keyof AccessCosts>).filter((k) => c[k] !== DEFAULT_COSTS[k]);
    const cacheCosts = this.vms.some((vm) => vm.cache) ? `, exclusive-cache put ${c.cachePutNs} ns and hit ${c.cacheHitNs} ns` : "";
    const costsLine = `hit ${c.hitNs} ns, zero-fill ${c.minorFaultNs} ns, guest disk read ${c.guestDiskReadNs / 1e6} ms, host alloc ${c.hostAllocNs} ns, host swap read ${c.hostSwapReadNs / 1e6} ms${cacheCosts}` +
      (diff.length ? ` (changed from the defaults: ${diff.join(", ")})` : " (the defaults)");
    return {
      machinePages: this.machine.totalPages,
      hostSwapPages: this.swap.capacityPages,
      quantumSeconds: this.quantumSeconds,
      seed: this.seed,
      costsLine,
      policies: this.scheduled.map((s) => `${s.policy.name} ${policyPeriod(s.policy)}${s.policy.describe ? `: ${s.policy.describe()}` : ""}.`),
      vms: this.vms.map((vm) => ({
        name: vm.name,
        memoryPages: vm.memoryPages,
        minPages: vm.minPages,
        maxPages: vm.maxPages,
        shares: vm.shares,
        balloon: vm.balloon.settings.enabled ? `a balloon driver (cap ${formatCount(vm.balloon.maxPages)} pages, ${vm.balloon.describeRate()})` : "no balloon driver",
        workload: vm.workload?.name ?? "nothing (idle)",
        kernelPages: vm.guest.settings.kernelPages,
      })),
    };
  }

  // ---- VmBackend: frames for VMs ----

  /** @internal */
  allocateFrameFor(vm: Vm): number {
    // A VM at its limit pays with one of its own pages.
    if (vm.residentPages >= vm.maxPages) this.swapOutOne(vm);
    let frame = this.machine.allocate();
    if (frame >= 0) return frame;
    // Out of frames: exclusive caches hold only clean copies, so they give a frame back first.
    if (this.dropCachePage()) return this.machine.allocate();
    // Still out of frames: reclaim synchronously by random swapping from the VM furthest above target.
    const victim = this.pickVictim(vm);
    this.swapOutOne(victim);
    frame = this.machine.allocate();
    if (frame < 0) throw new Error("internal: no frame after a swap-out");
    return frame;
  }

  /** @internal */
  notifyTrap(vm: Vm, ppn: number): void {
    for (const s of this.scheduled) s.policy.onTrap?.(this, vm.index, ppn);
  }

  /** @internal */
  notifyFault(vm: Vm, ppn: number): void {
    for (const s of this.scheduled) s.policy.onHostFault?.(this, vm.index, ppn);
  }

  /**
   * The tracer a VM with an exclusive cache reports to (this host's, or a new one on first use),
   * once the cache is checked against this host. Changes nothing: the caller adds it.
   */
  private tracerFor(cache: ExclusiveCacheSettings, where: string, sizeAsWritten: unknown): ReturnType<CacheTracerFactory> {
    let tracer = this.tracer;
    if (!tracer) {
      const factory = cacheTracerFactory();
      if (!factory) throw new MemvirtError("needs the exclusive-cache tracer, which registers when memvirt's policies load: import from \"memvirt\" (or src/policy)", { where });
      tracer = factory();
    }
    // The cache's frames are machine frames: one larger than the machine could never fill, and
    // its typed arrays are sized by it, so it is refused before anything is built.
    if (cache.capacityPages > this.machine.totalPages) {
      throw new MemvirtError(`is ${describePages(cache.capacityPages)}, more than the host's ${describePages(this.machine.totalPages)} of machine memory, which backs every cache entry`, { where: pathJoin(where, "size"), value: sizeAsWritten });
    }
    // The tracer acts at most once a quantum: a shorter period would age counts less often than it says.
    if (cache.periodSeconds < this.quantumSeconds - 1e-12) {
      throw new MemvirtError(`must be at least the host's quantum of ${this.quantumSeconds} s (the tracer acts at most once a quantum)`, { where: pathJoin(where, "periodSeconds"), value: cache.periodSeconds });
    }
    return tracer;
  }

  /** @internal */
  notifyCacheEvent(vm: Vm, key: number, event: CacheEvent): void {
    for (const s of this.scheduled) s.policy.onCacheEvent?.(this, vm.index, key, event);
  }

  /** Drop the LRU entry of the fullest exclusive cache, freeing its frame; false when none holds any. */
  private dropCachePage(): boolean {
    let best: Vm | undefined;
    for (const v of this.vms) if (v.cache && v.cache.sizePages > 0 && (!best || v.cache.sizePages > best.cache!.sizePages)) best = v;
    return best !== undefined && best.cache!.dropLru();
  }

  private pickVictim(requester: Vm): Vm {
    let best: Vm | undefined;
    let bestExcess = -Infinity;
    for (const v of this.vms) {
      if (v.residentPages === 0 || v.residentPages <= v.minPages) continue;
      const excess = v.residentPages - v.targetPages;
      if (excess > bestExcess) {
        best = v;
        bestExcess = excess;
      }
    }
    return best ?? requester;
  }

  private swapOutOne(vm: Vm): void {
    const p = vm.randomResidentPage(this.randomForSwap);
    if (p < 0) throw new Error(`internal: VM ${vm.name} has no resident page to swap`);
    if (!vm.swapOut(p)) {
      throw new MemvirtError(`the hypervisor swap device is full (${formatCount(this.swap.capacityPages)} pages)`, { where: pathJoin(this.where, "swap"), value: this.swap.capacityPages });
    }
  }

  // ---- HostControl: what policies may read and do (documented in host-policy.ts) ----

  /** @internal */
  get machinePages(): number {
    return this.machine.totalPages;
  }
  /** @internal */
  get freePages(): number {
    return this.machine.freePages;
  }
  /** @internal */
  get hostSwapCapacityPages(): number {
    return this.swap.capacityPages;
  }
  /** @internal */
  get hostSwapUsedPages(): number {
    return this.swap.usedPages;
  }
  /**
   * The reclamation state last reported by a policy ("none" without one).
   * @internal
   */
  get stateLabel(): string {
    return this.label;
  }

  /** @internal */
  setBalloonTarget(vm: number, pages: number): number {
    return this.vms[vm].balloon.setTarget(pages);
  }

  /** @internal */
  swapOut(vm: number, pages: number): number {
    const v = this.vms[vm];
    let done = 0;
    while (done < pages && v.residentPages > 0) {
      const p = v.randomResidentPage(this.randomForSwap);
      if (p < 0 || !v.swapOut(p)) break;
      done++;
    }
    return done;
  }

  /** @internal */
  setBlocked(vm: number, blocked: boolean): void {
    const v = this.vms[vm];
    if (v.blocked !== blocked) this.note(`${v.name} is ${blocked ? "blocked (above its target while free memory is low)" : "running again"}`);
    v.blocked = blocked;
  }

  /** @internal */
  setTarget(vm: number, pages: number): void {
    this.vms[vm].targetPages = pages;
  }

  /** @internal */
  invalidate(vm: number, ppn: number): boolean {
    return this.vms[vm].invalidate(ppn);
  }

  /** @internal */
  sharePage(vm: number, ppn: number, frame: number): void {
    this.vms[vm].sharePage(ppn, frame);
  }

  /** @internal */
  setEstimatedActivePages(vm: number, pages: number | null): void {
    this.vms[vm].estimatedActivePages = pages;
  }

  /** @internal */
  setCacheCapacity(vm: number, pages: number): number {
    const cache = this.vms[vm].cache;
    if (!cache) throw new Error(`internal: VM ${this.vms[vm].name} has no exclusive cache`);
    cache.setCapacity(Math.max(0, Math.floor(pages)));
    return cache.capacityPages;
  }

  /** @internal */
  setEstimatedNeedPages(vm: number, pages: number | null, bound: NeedEstimate["bound"] | null = null): void {
    this.vms[vm].estimatedNeedPages = pages;
    this.vms[vm].estimatedNeedBound = pages === null ? null : bound;
  }

  /**
   * The exclusive caches' tracer (undefined when no VM has `tracing.exclusiveCache`).
   * @internal
   */
  get cacheTracer(): CacheTracerView | undefined {
    return this.tracer;
  }

  /** @internal */
  randomStream(label: string): Rng {
    return this.rng.split(`policy:${label}`);
  }

  /** @internal */
  reportState(label: string): void {
    if (label !== this.label && this.label !== "none") {
      const free = this.machine.freePages / this.machine.totalPages;
      this.note(`free memory ${(free * 100).toFixed(2)}%: state ${this.label} → ${label}`);
    }
    this.label = label;
  }

  /** @internal */
  note(text: string): void {
    this.events.push({ t: Math.round(this.nowSeconds * 1e9) / 1e9, text });
  }

  // ---- checks ----

  /**
   * Check conservation and every VM's invariants (tests; O(total pages)). Throws on a violation.
   *
   * @internal
   * @example
   * host.checkInvariants();
   */
  checkInvariants(): void {
    let resident = 0;
    let swapped = 0;
    let sharedPages = 0;
    const sharedRefs = new Map<number, number>();
    const owner = new Uint8Array(this.machine.totalPages);
    for (const f of this.machine.freeFrames()) {
      if (owner[f]) throw new Error(`frame ${f} is on the free list twice`);
      owner[f] = 1;
    }
    let cached = 0;
    for (const vm of this.vms) {
      vm.checkInvariants();
      vm.cache?.forEach((_key, f) => {
        if (f < 0 || f >= this.machine.totalPages || owner[f]) throw new Error(`VM ${vm.name}'s exclusive cache holds frame ${f}, out of range or owned twice`);
        owner[f] = 1;
        cached++;
      });
      for (let p = 0; p < vm.memoryPages; p++) {
        const s = vm.hstate[p];
        if (s === RESIDENT || s === TRAPPED) {
          const f = vm.p2m[p];
          if (f < 0 || f >= this.machine.totalPages) throw new Error(`VM ${vm.name} page ${p} maps frame ${f}, out of range`);
          if (owner[f]) throw new Error(`frame ${f} is owned twice (VM ${vm.name} page ${p})`);
          owner[f] = 1;
          resident++;
        } else if (s === HOST_SWAPPED) swapped++;
        else if (s === SHARED) {
          const f = vm.p2m[p];
          sharedRefs.set(f, (sharedRefs.get(f) ?? 0) + 1);
          sharedPages++;
          if (vm.contents && vm.contents.read(p) !== this.shared.content(f)) throw new Error(`VM ${vm.name} page ${p} holds content ${vm.contents.read(p)} but maps shared frame ${f} of content ${this.shared.content(f)}`);
        }
      }
    }
    for (const [f, refs] of sharedRefs) {
      if (owner[f]) throw new Error(`shared frame ${f} is also free or private`);
      owner[f] = 1;
      if (this.shared.refCount(f) !== refs) throw new Error(`shared frame ${f} counts ${this.shared.refCount(f)} references but ${refs} pages map it`);
    }
    if (sharedRefs.size !== this.shared.frameCount || sharedPages !== this.shared.pageCount) {
      throw new Error(`the shared-frame table counts ${this.shared.frameCount} frames and ${this.shared.pageCount} pages, but ${sharedRefs.size} frames are mapped by ${sharedPages} shared pages`);
    }
    if (resident + sharedRefs.size + cached + this.machine.freePages !== this.machine.totalPages) {
      throw new Error(`conservation: ${resident} resident + ${sharedRefs.size} shared + ${cached} in exclusive caches + ${this.machine.freePages} free ≠ ${this.machine.totalPages} frames`);
    }
    if (swapped !== this.swap.usedPages) throw new Error(`host swap holds ${this.swap.usedPages} pages but ${swapped} pages are host-swapped`);
  }

  /**
   * Frames by owner and state: { free, vms: { name: { resident, ... } } } (for tests and notebooks).
   *
   * @example
   * host.memoryByState().free
   */
  memoryByState(): { totalPages: number; free: number; vms: Record<string, Record<string, number>> } {
    const vms: Record<string, Record<string, number>> = {};
    for (const vm of this.vms) {
      const row: Record<string, number> = {};
      HOST_STATE_NAMES.forEach((name, s) => { row[name] = vm.stateCounts[s]; });
      vms[vm.name] = row;
    }
    return { totalPages: this.machine.totalPages, free: this.machine.freePages, vms };
  }

  /** Σ configured memory of the VMs, in pages. */
  private get configuredPages(): number {
    return this.vms.reduce((a, vm) => a + vm.memoryPages, 0);
  }

  /** More VM memory than machine memory, and no policy to reclaim it. */
  private get overcommittedWithoutPolicy(): boolean {
    return this.scheduled.length === 0 && this.configuredPages > this.machine.totalPages;
  }

  /**
   * What a bare `host` (or `host.addVm(...)`'s host) at the end of a notebook cell prints (Node's
   * inspector): memory, policies and VMs in a few lines, instead of every frame array.
   *
   * @internal
   * @example
   * console.log(host); // Host: 262,144 pages (1 GiB) of machine memory, ...
   */
  [inspect.custom](): string {
    const lines = [
      `Host: ${describePages(this.machine.totalPages)} of machine memory, ${formatCount(this.machine.freePages)} pages free; ` +
        `hypervisor swap ${formatCount(this.swap.usedPages)} of ${formatCount(this.swap.capacityPages)} pages used; seed ${JSON.stringify(this.seed)}; t = ${+this.nowSeconds.toFixed(6)} s`,
      `  policies: ${this.scheduled.length ? this.scheduled.map((s) => `${s.policy.name} ${policyPeriod(s.policy)}`).join(", ") : "none"}` +
        (this.overcommittedWithoutPolicy ? `; WARNING: overcommitted (VMs ${describePages(this.configuredPages)}) with no policy: pass policies: [new ReclamationPolicy()]` : ""),
    ];
    const shown = 5;
    if (this.vms.length === 0) lines.push("  no VMs yet: host.addVm({ name, memory, workload })");
    for (const vm of this.vms.slice(0, shown)) lines.push(`  VM ${vm.describeNow()}`);
    if (this.vms.length > shown) lines.push(`  ... and ${this.vms.length - shown} more VMs (host.vms)`);
    lines.push("  host.run({ seconds, sampleEvery }) runs it; show(run) or run.explain() tells the story");
    return lines.join("\n");
  }

  /**
   * Bytes of typed-array state for the whole host (frames, P→M, states, guests).
   * @internal
   */
  get stateBytes(): number {
    return this.machine.totalPages * 4 + this.vms.reduce((a, vm) => a + vm.stateBytes, 0);
  }
}

// Host serves its policies (HostControl) and its VMs (VmBackend) through members tagged
// @internal, which the published .d.ts leaves out; so the class cannot say `implements` there,
// and this check keeps it complete for both instead.
type Serves<T extends HostControl & VmBackend> = T;
type HostServesPoliciesAndVms = Serves<Host>;

function describePages(pages: number): string {
  return `${formatCount(pages)} pages (${formatBytes(pages * PAGE_SIZE_BYTES)})`;
}

/** "every 5 s", or the policy's own words when it acts on another schedule than its tick. */
function policyPeriod(policy: HostPolicy): string {
  return policy.describePeriod ? policy.describePeriod() : `every ${policy.periodSeconds} s`;
}
