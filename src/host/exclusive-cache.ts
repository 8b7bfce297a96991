/**
 * A hypervisor exclusive cache below one VM (Lu & Shen, USENIX ATC 2007): machine frames the
 * hypervisor holds for the VM, filled with the pages the guest evicts and emptied when the guest
 * reads them back.
 *
 *   guest evicts block k (clean, or just written back) ──put(k)──▶ [MRU … LRU] ──full──▶ LRU dropped
 *   guest reads block k from disk ──probe(k)──▶ hit: entry leaves (the page is in VM memory now)
 *                                              miss: the read goes to disk as before
 *
 * Entries are keyed by the guest's disk-block identity: the VirtualSpace slot of the evicted
 * virtual page, which names its file page or its guest swap slot for as long as the page is out
 * of guest memory. Every entry holds one machine frame (a 4 KiB copy made by the put hypercall).
 *
 * Invariants:
 * - Exclusive: a key is in the cache only while its page is out of guest memory (a probe hit
 *   removes it; the VM's checkInvariants verifies it against the V→P table).
 * - sizePages ≤ capacityPages; each entry owns exactly one frame, taken from MachineMemory and
 *   given back when the entry leaves, so the host's conservation counts cache frames too.
 * - State is typed arrays only (keys, frames, an intrusive doubly-linked LRU list, and a
 *   PageValueMap from block to entry): nothing is allocated per put or probe; arrays grow only
 *   when the capacity does.
 * - Entries are clean (their contents match storage), so dropping one costs no write.
 */
import { inspect } from "node:util";
import type { ExclusiveCacheSettings } from "./host-config";
import type { CacheTracerView, HostPolicy } from "./host-policy";
import type { MachineMemory } from "./machine-memory";
import { PageValueMap } from "../util/page-value-map";

const EMPTY = -1;

/**
 * The exclusive cache of one VM.
 *
 * @internal
 * @example
 * const cache = new ExclusiveCache(1024, machine);
 * cache.put(42);   // the guest evicted block 42
 * cache.probe(42)  // true: a hit, and the entry leaves
 * cache.probe(42)  // false
 */
export class ExclusiveCache {
  /** The most entries the cache may hold. */
  capacityPages: number;
  /** Entries held now (each with a frame). */
  sizePages = 0;
  /** Put hypercalls (every eligible eviction, admitted or not). */
  puts = 0;
  /** Puts that found no frame (capacity 0, or no free machine frame and nothing of its own to reuse). */
  putsRejected = 0;
  /** Probes: disk reads the hypervisor looked up. */
  probes = 0;
  /** Probes that found the block (served from the cache instead of the disk). */
  hits = 0;
  /** Entries dropped to make room (LRU first) or to shrink. */
  evictions = 0;

  private readonly machine: MachineMemory;
  private keys: Int32Array;
  private frames: Int32Array;
  private prev: Int32Array;
  private next: Int32Array;
  /** Unused entry indices. */
  private freeEntries: Int32Array;
  private freeTop: number;
  /** Block (zigzag-encoded: slots of hashed pages are negative) → entry index. */
  private readonly index: PageValueMap;
  /** Most recently put entry, and least recently put (the next to drop). */
  private head = EMPTY;
  private tail = EMPTY;

  constructor(capacityPages: number, machine: MachineMemory) {
    this.machine = machine;
    this.capacityPages = capacityPages;
    const slots = Math.max(16, capacityPages);
    this.keys = new Int32Array(slots);
    this.frames = new Int32Array(slots);
    this.prev = new Int32Array(slots);
    this.next = new Int32Array(slots);
    this.freeEntries = new Int32Array(slots);
    this.freeTop = 0;
    for (let i = slots - 1; i >= 0; i--) this.freeEntries[this.freeTop++] = i;
    this.index = new PageValueMap(slots);
  }

  /**
   * The guest evicted block `key`, whose contents match storage: copy it in as the most recent
   * entry, dropping the LRU entry when full. Returns whether it was admitted.
   *
   * @example
   * cache.put(7) // true
   */
  put(key: number): boolean {
    this.puts++;
    const existing = this.find(key);
    if (existing !== EMPTY) {
      // Not reachable while the cache is exclusive (a block leaves on its read); kept safe anyway.
      this.unlink(existing);
      this.pushFront(existing);
      return true;
    }
    let frame = -1;
    if (this.capacityPages > 0 && this.sizePages < this.capacityPages) frame = this.machine.allocate();
    if (frame < 0) {
      // Full (or no free frame): reuse the LRU entry's frame for the newer block.
      if (this.sizePages === 0 || this.capacityPages === 0) {
        this.putsRejected++;
        return false;
      }
      frame = this.removeEntry(this.tail);
      this.evictions++;
    }
    const e = this.takeEntry();
    this.keys[e] = key;
    this.frames[e] = frame;
    this.pushFront(e);
    this.index.set(blockId(key), e);
    this.sizePages++;
    return true;
  }

  /**
   * The guest reads block `key` from disk: true (and the entry leaves, its frame freed: the
   * page now lives in VM memory) when the cache holds it.
   *
   * @example
   * cache.probe(7) // true once after put(7)
   */
  probe(key: number): boolean {
    this.probes++;
    const e = this.find(key);
    if (e === EMPTY) return false;
    this.machine.release(this.removeEntry(e));
    this.hits++;
    return true;
  }

  /**
   * Whether block `key` is in the cache (no LRU update; tests and invariants).
   *
   * @example
   * cache.has(7) // false
   */
  has(key: number): boolean {
    return this.find(key) !== EMPTY;
  }

  /**
   * Set the capacity; a smaller one drops LRU entries (clean: no write) and frees their frames.
   *
   * @example
   * cache.setCapacity(0); // empty, and admits nothing
   */
  setCapacity(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0) throw new Error(`internal: cache capacity ${pages}`);
    while (this.sizePages > pages) this.dropLru();
    if (pages > this.keys.length) this.grow(pages);
    this.capacityPages = pages;
  }

  /**
   * Drop the LRU entry and give its frame back to the machine (the host needs a frame). False
   * when empty.
   *
   * @example
   * cache.dropLru() // true if there was an entry
   */
  dropLru(): boolean {
    if (this.tail === EMPTY) return false;
    this.machine.release(this.removeEntry(this.tail));
    this.evictions++;
    return true;
  }

  /**
   * Visit every entry's key and frame, most recent first (invariant checks; O(entries)).
   *
   * @example
   * cache.forEach((key, frame) => { ... });
   */
  forEach(fn: (key: number, frame: number) => void): void {
    let n = 0;
    for (let e = this.head; e !== EMPTY; e = this.next[e]) {
      fn(this.keys[e], this.frames[e]);
      if (++n > this.sizePages) throw new Error("internal: the cache's LRU list has a cycle");
    }
    if (n !== this.sizePages) throw new Error(`internal: the cache counts ${this.sizePages} entries but its list holds ${n}`);
  }

  /**
   * What a bare cache prints: its counters, not its arrays nor the machine's.
   *
   * @example
   * console.log(cache); // ExclusiveCache: 12 of 1,024 pages held; 40 puts ...
   */
  [inspect.custom](): string {
    return `ExclusiveCache: ${this.sizePages} of ${this.capacityPages} pages held; ${this.puts} puts (${this.putsRejected} not admitted), ` +
      `${this.hits} hits of ${this.probes} probes, ${this.evictions} entries dropped`;
  }

  /** Bytes of typed-array state. */
  get stateBytes(): number {
    return this.keys.byteLength * 5 + this.index.stateBytes;
  }

  /** Unlink entry e everywhere; returns its frame (still owned by the caller). */
  private removeEntry(e: number): number {
    this.unlink(e);
    this.index.delete(blockId(this.keys[e]));
    this.freeEntries[this.freeTop++] = e;
    this.sizePages--;
    return this.frames[e];
  }

  private takeEntry(): number {
    if (this.freeTop === 0) this.grow(this.keys.length * 2);
    return this.freeEntries[--this.freeTop];
  }

  private pushFront(e: number): void {
    this.prev[e] = EMPTY;
    this.next[e] = this.head;
    if (this.head !== EMPTY) this.prev[this.head] = e;
    this.head = e;
    if (this.tail === EMPTY) this.tail = e;
  }

  private unlink(e: number): void {
    const p = this.prev[e];
    const n = this.next[e];
    if (p !== EMPTY) this.next[p] = n;
    else this.head = n;
    if (n !== EMPTY) this.prev[n] = p;
    else this.tail = p;
  }

  private find(key: number): number {
    const e = this.index.get(blockId(key));
    return e < 0 ? EMPTY : e;
  }

  /** Room for `slots` entries (at a capacity change, never per event). */
  private grow(slots: number): void {
    const old = this.keys.length;
    if (slots <= old) return;
    const copy = (a: Int32Array) => {
      const b = new Int32Array(slots);
      b.set(a);
      return b;
    };
    this.keys = copy(this.keys);
    this.frames = copy(this.frames);
    this.prev = copy(this.prev);
    this.next = copy(this.next);
    const free = new Int32Array(slots);
    free.set(this.freeEntries.subarray(0, this.freeTop));
    let top = this.freeTop;
    for (let i = slots - 1; i >= old; i--) free[top++] = i;
    this.freeEntries = free;
    this.freeTop = top;
  }
}

/** A block's key in the index: slots ≥ 0 to even numbers, hashed slots (< 0) to odd ones. */
function blockId(slot: number): number {
  return slot >= 0 ? 2 * slot : -2 * slot - 1;
}

/**
 * What the host needs to build the tracer policy (the host never imports a policy).
 * @internal
 */
export type CacheTracerFactory = () => HostPolicy & CacheTracerView & {
  /** Start tracing VM `vm` with these settings. */
  traceVm(vm: number, settings: ExclusiveCacheSettings): void;
};

let tracerFactory: CacheTracerFactory | undefined;

/**
 * Called once by src/policy/exclusive-cache-tracer.ts when it loads (importing "memvirt" loads
 * it), so a VM's `tracing.exclusiveCache` gets its tracer without the host importing a policy.
 *
 * @internal
 * @example
 * registerCacheTracerFactory(() => new ExclusiveCacheTracer());
 */
export function registerCacheTracerFactory(factory: CacheTracerFactory): void {
  tracerFactory = factory;
}

/**
 * The registered tracer factory (undefined when the policy module was never loaded).
 *
 * @internal
 * @example
 * const tracer = cacheTracerFactory()?.();
 */
export function cacheTracerFactory(): CacheTracerFactory | undefined {
  return tracerFactory;
}
