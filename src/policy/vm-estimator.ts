/**
 * What every working-set estimator of one VM shares: it is a host policy that finds its VM by
 * name, keeps its own time in the VM's simulated run time (blocked time does not count, as ESX
 * measures periods in VM time), watches pages through `HostControl.invalidate` and the
 * `onTrap` / `onHostFault` hooks, publishes its estimate of active pages to the host, and keeps a
 * row per period (its estimate, the pages it checked and the touches it saw) for analysis.
 *
 *   host tick (every periodSeconds, a small fraction of the estimator's period)
 *     └─▶ advance(host, vmRunSeconds)   the estimator closes periods and draws new samples
 *   guest touches a watched page ─▶ onTrap / onHostFault ─▶ watch.hit(ppn)
 *
 * Estimators never read the host's ground truth (the timeline's trueActivePages).
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { Rng } from "../util/rng";
import { HostControl, HostPolicy, VmView } from "../host/host-policy";
import { PageWatch } from "./page-watch";

/** One closed period of an estimator. Fractions are of the VM's configured memory. */
export interface EstimatorPeriod {
  vm: string;
  estimator: string;
  /** Host time at the period's end, in simulated seconds. */
  t: number;
  /** The VM's own run time at the period's end. */
  runSeconds: number;
  /** This period's own measurement of the fraction of memory touched (sampling: t/n). */
  periodFraction: number;
  /** The estimate published after this period (sampling: the max of the averages). */
  estimate: number;
  estimatedActivePages: number;
  /** Pages watched during the period (each one an invalidation or a check: host work). */
  pagesChecked: number;
  /** Watched pages the guest touched during the period (each one a trap or a fault it paid). */
  touchesSeen: number;
  slow?: number;
  fast?: number;
  /** DAMON: regions at the period's end. */
  regions?: number;
}

/**
 * A positive whole number, named by `where` when wrong.
 *
 * @example
 * checkPositiveCount(100, "vms[0].sampling.samplePages")
 */
export function checkPositiveCount(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw new MemvirtError("must be a whole number, at least 1", { where, value });
  return value;
}

/**
 * A positive number of seconds, named by `where` when wrong.
 *
 * @example
 * checkSeconds(30, "vms[0].sampling.periodSeconds")
 */
export function checkSeconds(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new MemvirtError("must be a positive number of seconds", { where, value });
  return value;
}

/**
 * The base of the estimators (working-set-sampler.ts, damon-estimator.ts).
 *
 * @example
 * class Mine extends VmEstimator { ... protected advance(host, now) { ... } }
 */
export abstract class VmEstimator implements HostPolicy {
  abstract readonly name: string;
  /** Seconds between host ticks (the estimator's own periods are counted in VM time). */
  abstract readonly periodSeconds: number;
  /** The VM watched, by name. */
  readonly vmName: string;
  /** Closed periods, oldest first. */
  readonly periods: EstimatorPeriod[] = [];
  /** Where the options came from, for errors (e.g. "vms[0].sampling"). */
  protected readonly where: string;
  protected index = -1;
  protected watch!: PageWatch;
  protected rng!: Rng;
  /** Fractions as last published (null before the first period closes). */
  protected published: number | null = null;

  constructor(vmName: unknown, where: string) {
    if (typeof vmName !== "string" || vmName === "") throw new MemvirtError("must name the VM to watch", { where: pathJoin(where, "vm"), value: vmName });
    this.vmName = vmName;
    this.where = where;
  }

  /** The label of this estimator's random stream ("sampling", "damon"). */
  protected abstract readonly streamLabel: string;

  /** Advance to the VM's run time `now` (seconds): close what is due, draw new samples. */
  protected abstract advance(host: HostControl, now: number): void;

  /**
   * The estimate last published, as a fraction of configured memory (null before one).
   *
   * @example
   * sampler.estimatedFraction // e.g. 0.25
   */
  get estimatedFraction(): number | null {
    return this.published;
  }

  tick(host: HostControl): void {
    if (this.index < 0) this.attach(host);
    const vm = host.vms[this.index];
    this.advance(host, vm.runSeconds ?? host.nowSeconds);
  }

  onTrap(_host: HostControl, vm: number, ppn: number): void {
    if (vm === this.index) this.watch.hit(ppn);
  }

  onHostFault(_host: HostControl, vm: number, ppn: number): void {
    if (vm === this.index) this.watch.hit(ppn);
  }

  /** The VM watched (after the first tick). */
  protected view(host: HostControl): VmView {
    return host.vms[this.index];
  }

  /** Publish `fraction` of configured memory as the VM's active pages. */
  protected publish(host: HostControl, fraction: number | null): void {
    this.published = fraction;
    const pages = fraction === null ? null : Math.round(fraction * this.view(host).memoryPages);
    host.setEstimatedActivePages?.(this.index, pages);
  }

  private attach(host: HostControl): void {
    const index = host.vms.findIndex((v) => v.name === this.vmName);
    if (index < 0) {
      throw new MemvirtError(`no VM of this name on the host (VMs: ${host.vms.map((v) => v.name).join(", ") || "none"})`, { where: pathJoin(this.where, "vm"), value: this.vmName });
    }
    if (typeof host.randomStream !== "function") throw new Error("internal: this host gives policies no random streams (HostControl.randomStream)");
    this.index = index;
    this.watch = new PageWatch(index);
    this.rng = host.randomStream(`${this.streamLabel}:${this.vmName}`);
  }
}
