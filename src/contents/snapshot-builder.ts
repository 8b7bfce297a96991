/**
 * `SnapshotBuilder`: make a `PageSnapshot` page by page, from bytes (hashed here, zero pages
 * found by comparing bytes) or from hashes computed elsewhere. `capturePages` uses it for a
 * process, `snapshotFromMemory` for a guest-physical dump, tests for snapshots with known
 * contents.
 */
import * as os from "node:os";
import type { MappingKind } from "./mapping-kind";
import { isZeroPage, XXH64_HASHER, zeroPage, type PageHasher } from "./page-hash";
import { PAGE_ZERO, PageSnapshot, type SnapshotInfo, type SnapshotRegion, type SnapshotSource } from "./page-snapshot";

/** Options of `SnapshotBuilder`. */
export interface SnapshotBuilderOptions {
  /** The snapshot's name (a label; `readSnapshot` uses the file name). */
  name?: string;
  /** Bytes per page, a power of two from 16 B to 1 GiB (default 4096). */
  pageSizeBytes?: number;
  /** Keep every page's bytes, not only its hash (default false). */
  keepBytes?: boolean;
  /** The page hash (default XXH64). */
  hasher?: PageHasher;
  /** Where the pages come from (default `{ kind: "synthetic" }`). */
  source?: SnapshotSource;
  /** When the capture started (ISO 8601). */
  capturedAt?: string;
  /** Record this machine's kernel and architecture in the snapshot (default true for process and guest sources). */
  recordMachine?: boolean;
}

/** A region as `beginRegion` takes it (its pages are counted as they are added). */
export type RegionSpec = Pick<SnapshotRegion, "startAddress" | "endAddress" | "kind" | "name">;

/**
 * True for a page size the format takes: a power of two from 16 bytes to 1 GiB.
 *
 * @example
 * isValidPageSize(4096) // true
 */
export function isValidPageSize(bytes: number): boolean {
  return Number.isInteger(bytes) && bytes >= 16 && bytes <= 2 ** 30 && (bytes & (bytes - 1)) === 0;
}

/** Builds a snapshot; add regions in ascending address order and their pages in each. */
export class SnapshotBuilder {
  readonly pageSizeBytes: number;
  readonly keepBytes: boolean;
  readonly hasher: PageHasher;
  private readonly name: string;
  private readonly source: SnapshotSource;
  private readonly capturedAt: string | undefined;
  private readonly recordMachine: boolean;
  private readonly regions: SnapshotRegion[] = [];
  private current: SnapshotRegion | undefined;
  private currentPages = 0n;
  private lastIndex = -1;
  private count = 0;
  private hashes = new BigUint64Array(1024);
  private flags = new Uint8Array(1024);
  private indexInRegion = new Uint32Array(1024);
  private byteChunks: Uint8Array[] = [];
  private readonly zeroHash: bigint;
  private swapped = 0;
  private unreadable = 0;

  /**
   * @example
   * const b = new SnapshotBuilder({ name: "two pages", keepBytes: true });
   * b.beginRegion({ startAddress: 0n, endAddress: 8192n, kind: "anon", name: "" });
   * b.addPage(0, new Uint8Array(4096));
   * b.addPage(1, new Uint8Array(4096).fill(7));
   * b.finish().zeroPages // 1
   */
  constructor(options: SnapshotBuilderOptions = {}) {
    this.pageSizeBytes = options.pageSizeBytes ?? 4096;
    if (!isValidPageSize(this.pageSizeBytes)) throw new Error(`page size ${this.pageSizeBytes} is not a power of two from 16 B to 1 GiB`);
    this.keepBytes = options.keepBytes ?? false;
    this.hasher = options.hasher ?? XXH64_HASHER;
    this.name = options.name ?? "snapshot";
    this.source = options.source ?? { kind: "synthetic" };
    this.capturedAt = options.capturedAt;
    this.recordMachine = options.recordMachine ?? this.source.kind !== "synthetic";
    this.zeroHash = this.hasher.hash(zeroPage(this.pageSizeBytes));
  }

  /** Pages added so far. */
  get pageCount(): number {
    return this.count;
  }

  /**
   * Start a region: the pages added next belong to it, by their index in it.
   *
   * @example
   * builder.beginRegion({ startAddress: 0x400000n, endAddress: 0x401000n, kind: "file", name: "/usr/bin/sleep" });
   */
  beginRegion(spec: RegionSpec): void {
    const size = BigInt(this.pageSizeBytes);
    if (spec.startAddress % size !== 0n || spec.endAddress % size !== 0n || spec.endAddress <= spec.startAddress) {
      throw new Error(`region ${spec.name || "(anonymous)"} [${spec.startAddress.toString(16)}, ${spec.endAddress.toString(16)}) is not a non-empty range of whole pages`);
    }
    const previous = this.regions.at(-1);
    if (previous !== undefined && spec.startAddress < previous.endAddress) throw new Error(`region at ${spec.startAddress.toString(16)} overlaps or precedes the one before it`);
    this.current = { ...spec, firstPage: this.count, pageCount: 0 };
    this.regions.push(this.current);
    this.currentPages = (spec.endAddress - spec.startAddress) / size;
    this.lastIndex = -1;
  }

  /**
   * Add the page at `index` in the current region from its bytes (hashed, and checked for
   * zero by comparing bytes). `extraFlags` are ORed in (e.g. PAGE_FILE). The bytes are copied
   * when kept, so the caller may reuse its buffer.
   *
   * @example
   * builder.addPage(0, pageBytes);
   */
  addPage(index: number, bytes: Uint8Array, extraFlags = 0): void {
    if (bytes.length !== this.pageSizeBytes) throw new Error(`a page must be ${this.pageSizeBytes} bytes, got ${bytes.length}`);
    const zero = isZeroPage(bytes);
    this.push(index, zero ? this.zeroHash : this.hasher.hash(bytes), (zero ? PAGE_ZERO : 0) | extraFlags);
    if (this.keepBytes) this.byteChunks.push(Uint8Array.prototype.slice.call(bytes));
  }

  /**
   * Add a page by its hash alone (a snapshot without bytes). `zero` says it is all zeros; its
   * hash is then the hash of a zero page, whatever `hash` says.
   *
   * @example
   * builder.addPageHash(3, 0x1234n);
   */
  addPageHash(index: number, hash: bigint, options: { zero?: boolean; extraFlags?: number } = {}): void {
    if (this.keepBytes) throw new Error("this builder keeps bytes: add pages with addPage");
    this.push(index, options.zero ? this.zeroHash : BigInt.asUintN(64, hash), (options.zero ? PAGE_ZERO : 0) | (options.extraFlags ?? 0));
  }

  /**
   * Count pages seen but not stored (for the snapshot's `info.counts`).
   *
   * @example
   * builder.countSkipped({ swappedPages: 12 });
   */
  countSkipped(counts: { swappedPages?: number; unreadablePages?: number }): void {
    this.swapped += counts.swappedPages ?? 0;
    this.unreadable += counts.unreadablePages ?? 0;
  }

  /**
   * The snapshot. Regions that received no page are dropped.
   *
   * @example
   * const snap = builder.finish();
   */
  finish(): PageSnapshot {
    const regions = this.regions.filter((r) => r.pageCount > 0);
    let bytes: Uint8Array | undefined;
    if (this.keepBytes) {
      bytes = new Uint8Array(this.count * this.pageSizeBytes);
      this.byteChunks.forEach((chunk, i) => bytes!.set(chunk, i * this.pageSizeBytes));
      this.byteChunks = [];
    }
    const info: SnapshotInfo = { hash: this.hasher.name, source: this.source };
    if (this.capturedAt !== undefined) info.capturedAt = this.capturedAt;
    if (this.recordMachine) info.machine = { kernel: os.release(), arch: os.machine() };
    if (this.source.kind !== "synthetic" || this.swapped + this.unreadable > 0) info.counts = { swappedPages: this.swapped, unreadablePages: this.unreadable };
    return new PageSnapshot({
      name: this.name,
      pageSizeBytes: this.pageSizeBytes,
      info,
      regions,
      hashes: this.hashes.slice(0, this.count),
      flags: this.flags.slice(0, this.count),
      indexInRegion: this.indexInRegion.slice(0, this.count),
      bytes,
    });
  }

  private push(index: number, hash: bigint, flags: number): void {
    const region = this.current;
    if (region === undefined) throw new Error("beginRegion before adding pages");
    if (!Number.isInteger(index) || index <= this.lastIndex || BigInt(index) >= this.currentPages) {
      throw new Error(`page index ${index} is not after ${this.lastIndex} and inside region ${region.name || "(anonymous)"} of ${this.currentPages} pages`);
    }
    if (this.count === this.hashes.length) this.grow();
    this.hashes[this.count] = hash;
    this.flags[this.count] = flags;
    this.indexInRegion[this.count] = index;
    this.count++;
    region.pageCount++;
    this.lastIndex = index;
  }

  private grow(): void {
    const size = this.hashes.length * 2;
    const hashes = new BigUint64Array(size);
    hashes.set(this.hashes);
    const flags = new Uint8Array(size);
    flags.set(this.flags);
    const index = new Uint32Array(size);
    index.set(this.indexInRegion);
    this.hashes = hashes;
    this.flags = flags;
    this.indexInRegion = index;
  }
}

/** Options of `snapshotFromMemory`. */
export interface MemorySnapshotOptions extends SnapshotBuilderOptions {
  /** The address of the dump's first byte (default 0: guest-physical address 0). */
  startAddress?: bigint;
  /** The region's kind (default "physical"). */
  kind?: MappingKind;
  /** The region's name (default "guest-physical memory"). */
  regionName?: string;
}

/**
 * A snapshot of every page of a memory dump (e.g. QEMU's `pmemsave` of a guest), as one
 * region of kind `physical`. A trailing partial page is refused: a dump is whole pages.
 *
 * @example
 * const snap = snapshotFromMemory(fs.readFileSync("guest.mem"), { name: "guest.mem", source: { kind: "guest", memoryBytes: 134217728 } });
 */
export function snapshotFromMemory(memory: Uint8Array, options: MemorySnapshotOptions = {}): PageSnapshot {
  const builder = new SnapshotBuilder({ ...options, source: options.source ?? { kind: "guest" } });
  const size = builder.pageSizeBytes;
  if (memory.length === 0 || memory.length % size !== 0) throw new Error(`a memory dump must be a positive whole number of ${size}-byte pages, got ${memory.length} bytes`);
  const start = options.startAddress ?? 0n;
  builder.beginRegion({ startAddress: start, endAddress: start + BigInt(memory.length), kind: options.kind ?? "physical", name: options.regionName ?? "guest-physical memory" });
  for (let i = 0; i < memory.length / size; i++) builder.addPage(i, memory.subarray(i * size, (i + 1) * size));
  return builder.finish();
}
