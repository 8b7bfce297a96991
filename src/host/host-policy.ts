/**
 * The narrow interface between the host (mechanism) and policies (decisions).
 *
 *   src/policy/*  ──implements──▶ HostPolicy        (tick every periodSeconds, optional hooks)
 *        │
 *        └──acts through──▶ HostControl / VmView   (read counters and state bytes; set balloon
 *                                                   targets, swap random pages, block, invalidate)
 *
 * The host defines these and never imports a policy; policies are injected with
 * `new Host({ policies: [...] })` or `host.addPolicy(...)`. Later policies (working-set
 * sampling, idle memory tax, page sharing, exclusive caches) plug in here too: `invalidate`
 * plus `onTrap` (and `onHostFault` for pages with no frame) is how a policy observes accesses
 * without slowing the hot path.
 *
 * Members added after the first policies are optional, so a hand-written fake HostControl in a
 * test need not provide them; the Host always does.
 */
import { Rng } from "../util/rng";
import type { PageContents } from "./page-contents";
import type { SharedFrames } from "./shared-frames";

/** What a policy may read about one VM. Counts are in pages; `hstate` is read-only by contract. */
export interface VmView {
  readonly index: number;
  readonly name: string;
  /** Guest-physical pages the VM was configured with. */
  readonly memoryPages: number;
  /** Reservation: the host never reclaims the VM below this many machine pages. */
  readonly minPages: number;
  /** Limit: the VM never holds more than this many machine pages. */
  readonly maxPages: number;
  readonly shares: number;
  /** Machine frames held (RESIDENT + TRAPPED pages). */
  readonly residentPages: number;
  readonly hostSwappedPages: number;
  readonly balloonedPages: number;
  readonly balloonTargetPages: number;
  /** The balloon's cap; 0 when the VM has no balloon driver. */
  readonly balloonMaxPages: number;
  /** The allocation target last set by a policy (maxPages until one does). */
  readonly targetPages: number;
  readonly blocked: boolean;
  /** Accesses the guest has made since boot. */
  readonly accesses: number;
  /** Host state of each guest-physical page (page-state.ts). Do not write: use HostControl. */
  readonly hstate: Uint8Array;
  /** Simulated seconds the VM has run since boot, not counting time blocked: its own clock. */
  readonly runSeconds?: number;
  /** Active pages as last published by a working-set estimator; null (or absent) without one. */
  readonly estimatedActivePages?: number | null;
  /** P→M: the machine frame of each guest page (−1 without one). Read-only by contract (sharing). */
  readonly p2m?: Int32Array;
  /** What each guest page holds, when the VM was given contents (page sharing). */
  readonly contents?: PageContents;
}

/** What a policy may do to the host. */
export interface HostControl {
  readonly nowSeconds: number;
  readonly machinePages: number;
  readonly freePages: number;
  readonly hostSwapCapacityPages: number;
  readonly hostSwapUsedPages: number;
  readonly vms: readonly VmView[];
  /** Ask VM `vm`'s balloon for `pages`; returns the target kept (clamped to the balloon's cap). */
  setBalloonTarget(vm: number, pages: number): number;
  /** Swap out up to `pages` randomly chosen resident pages of VM `vm`; returns how many went. */
  swapOut(vm: number, pages: number): number;
  /** Stop (or resume) running VM `vm`'s guest. */
  setBlocked(vm: number, blocked: boolean): void;
  /** Record VM `vm`'s allocation target (for the timeline, and the host's own victim choice). */
  setTarget(vm: number, pages: number): void;
  /** Unmap a resident page so that its next access traps (and calls `onTrap`). False if not resident. */
  invalidate(vm: number, ppn: number): boolean;
  /** Publish VM `vm`'s estimated active pages (null: no estimate), for other policies and the timeline. */
  setEstimatedActivePages?(vm: number, pages: number | null): void;
  /** A random stream of the host's seed, split by `label` (one per policy and VM, e.g. "sampling:web"). */
  randomStream?(label: string): Rng;
  /** Frames shared copy-on-write, with their reference counts and counters (page sharing). */
  readonly shared?: SharedFrames;
  /**
   * Share page `ppn` of VM `vm` (RESIDENT or TRAPPED) copy-on-write: frame −1 makes its own frame
   * shared; a shared frame merges it there, freeing its own. The caller compared the contents.
   */
  sharePage?(vm: number, ppn: number, frame: number): void;
  /** Publish the host's current reclamation state (shown in the timeline). */
  reportState(label: string): void;
  /** Add an event line to the run's explanation. */
  note(text: string): void;
}

/** A policy the host runs every `periodSeconds` of simulated time. */
export interface HostPolicy {
  /** Short name for explain text. */
  readonly name: string;
  /** Simulated seconds between ticks (rounded to whole host quanta). */
  readonly periodSeconds: number;
  /** Decide and act. Called at t = 0 and then every period. */
  tick(host: HostControl): void;
  /** A guest touched page `ppn` of VM `vm` after `invalidate`; the page is resident again. */
  onTrap?(host: HostControl, vm: number, ppn: number): void;
  /** A guest touched page `ppn` of VM `vm`, which had no frame (first touch or host swap-in); it has one now. */
  onHostFault?(host: HostControl, vm: number, ppn: number): void;
  /** One or two sentences on the policy's settings, for explain(). */
  describe?(): string;
}
