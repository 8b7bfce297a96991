/**
 * `PageSnapshot`: the pages of one process or one guest's physical memory at one moment, as
 * the sharing report and (later) the page-sharing scanners read them.
 *
 * Per page, in typed arrays indexed by page number 0..pageCount−1:
 * - `hashes` (BigUint64Array), also viewed as `hashWords` (Uint32Array: low half at 2i, high
 *   half at 2i+1) for code that keys tables without BigInt;
 * - `flags` (PAGE_ZERO when every byte is zero, PAGE_FILE when pagemap marked it a page-cache
 *   or shared-anonymous page);
 * - `kinds`: the mapping kind code (`MAPPING_KINDS`), from the page's region;
 * - `indexInRegion`: the page's position in its region, so its address is
 *   `region.startAddress + indexInRegion × pageSizeBytes`;
 * - `bytes`, only when the capture kept them: page i is `bytes[i × pageSizeBytes …]`.
 *
 * Pages of one region are consecutive, regions in ascending address order.
 */
import { MAPPING_KINDS, type MappingKind } from "./mapping-kind";

/** Page flag: every byte of the page is zero (decided by comparing bytes, never by hash). */
export const PAGE_ZERO = 1;
/** Page flag: pagemap bit 61, a page-cache page or shared anonymous memory (not private anon). */
export const PAGE_FILE = 2;

/** One mapping (process) or one range of guest-physical memory. */
export interface SnapshotRegion {
  /** The address of its first byte: virtual for a process, guest-physical for a VM. */
  startAddress: bigint;
  /** One past its last byte. */
  endAddress: bigint;
  /** What kind of mapping it is. */
  kind: MappingKind;
  /** The path column of `/proc/PID/maps` (`/usr/bin/bash`, `[heap]`, "" for anonymous memory), or a label. */
  name: string;
  /** Index of its first page in the page arrays. */
  firstPage: number;
  /** How many of its pages the snapshot holds (the resident ones). */
  pageCount: number;
}

/** Where a snapshot came from: a process (`capture-pages`) or a guest (`capture-vm`), or made in code. */
export type SnapshotSource =
  | { kind: "process"; pid: number; command: string }
  | { kind: "guest"; [key: string]: unknown }
  | { kind: "synthetic"; [key: string]: unknown };

/** What was seen but not stored, so a reader knows what the snapshot leaves out. */
export interface CaptureCounts {
  /** Pages pagemap reported swapped out (bit 62): not resident, not in the snapshot. */
  swappedPages: number;
  /** Present pages whose bytes could not be read (`/proc/PID/mem` said EIO, e.g. device mappings). */
  unreadablePages: number;
}

/** The snapshot's metadata, stored as JSON in the file. */
export interface SnapshotInfo {
  /** The name of the page hash (`"xxh64"`). */
  hash: string;
  /** Where the pages came from. */
  source: SnapshotSource;
  /** When the capture started (ISO 8601), if it was a capture. */
  capturedAt?: string;
  /** Kernel release (`uname -r`) and machine (`uname -m`) of the capturing host. */
  machine?: { kernel: string; arch: string };
  /** What the capture saw but could not store. */
  counts?: CaptureCounts;
}

/** Everything a `PageSnapshot` is made of (the decoder and the builder produce this). */
export interface PageSnapshotParts {
  name: string;
  pageSizeBytes: number;
  info: SnapshotInfo;
  regions: SnapshotRegion[];
  hashes: BigUint64Array;
  flags: Uint8Array;
  indexInRegion: Uint32Array;
  bytes?: Uint8Array;
}

/** One snapshot of pages; see the module comment for the layout. */
export class PageSnapshot {
  /** The file it was read from, or a label given when it was built. */
  readonly name: string;
  /** Bytes per page (4096 for x86-64 processes). */
  readonly pageSizeBytes: number;
  /** Pages in the snapshot. */
  readonly pageCount: number;
  /** The metadata stored with the pages. */
  readonly info: SnapshotInfo;
  /** Regions in address order; region r's pages are `firstPage … firstPage + pageCount − 1`. */
  readonly regions: readonly SnapshotRegion[];
  /** Page hashes. */
  readonly hashes: BigUint64Array;
  /** The same hashes as 32-bit words: page i's low half at 2i, high half at 2i+1. */
  readonly hashWords: Uint32Array;
  /** Page flags: PAGE_ZERO, PAGE_FILE. */
  readonly flags: Uint8Array;
  /** Each page's mapping kind code, an index into MAPPING_KINDS. */
  readonly kinds: Uint8Array;
  /** Each page's position in its region. */
  readonly indexInRegion: Uint32Array;
  /** The pages' bytes, when kept (pageCount × pageSizeBytes). */
  readonly bytes: Uint8Array | undefined;
  /** How many pages are zero pages. */
  readonly zeroPages: number;
  private readonly regionOfPage: Uint32Array;

  /**
   * Assemble a snapshot from its parts (checked for consistency; a mismatch is a bug in the
   * caller, hence a plain Error). Use `readSnapshot`, `SnapshotBuilder` or `capturePages`.
   *
   * @example
   * const snap = new SnapshotBuilder({ name: "demo" }).finish();
   */
  constructor(parts: PageSnapshotParts) {
    const n = parts.hashes.length;
    if (parts.flags.length !== n || parts.indexInRegion.length !== n) throw new Error("page arrays differ in length");
    if (parts.bytes !== undefined && parts.bytes.length !== n * parts.pageSizeBytes) throw new Error("bytes do not hold pageCount pages");
    this.name = parts.name;
    this.pageSizeBytes = parts.pageSizeBytes;
    this.pageCount = n;
    this.info = parts.info;
    this.regions = parts.regions;
    this.hashes = parts.hashes;
    this.hashWords = new Uint32Array(parts.hashes.buffer, parts.hashes.byteOffset, 2 * n);
    this.flags = parts.flags;
    this.indexInRegion = parts.indexInRegion;
    this.bytes = parts.bytes;
    this.kinds = new Uint8Array(n);
    this.regionOfPage = new Uint32Array(n);
    let next = 0;
    parts.regions.forEach((region, r) => {
      if (region.firstPage !== next) throw new Error(`region ${r} starts at page ${region.firstPage}, expected ${next}`);
      const code = MAPPING_KINDS.indexOf(region.kind);
      this.kinds.fill(code, next, next + region.pageCount);
      this.regionOfPage.fill(r, next, next + region.pageCount);
      next += region.pageCount;
    });
    if (next !== n) throw new Error(`regions hold ${next} pages, the page arrays ${n}`);
    let zero = 0;
    for (let i = 0; i < n; i++) zero += parts.flags[i] & PAGE_ZERO;
    this.zeroPages = zero;
  }

  /**
   * Page i's hash.
   *
   * @example
   * snap.hash(0).toString(16)
   */
  hash(i: number): bigint {
    return this.hashes[i];
  }

  /**
   * True when page i is all zeros.
   *
   * @example
   * snap.isZero(0)
   */
  isZero(i: number): boolean {
    return (this.flags[i] & PAGE_ZERO) !== 0;
  }

  /**
   * Page i's mapping kind.
   *
   * @example
   * snap.kind(0) // "file"
   */
  kind(i: number): MappingKind {
    return MAPPING_KINDS[this.kinds[i]];
  }

  /**
   * The region page i belongs to.
   *
   * @example
   * snap.region(0).name // "/usr/bin/python3.11"
   */
  region(i: number): SnapshotRegion {
    return this.regions[this.regionOfPage[i]];
  }

  /**
   * Page i's address (virtual for a process, guest-physical for a VM).
   *
   * @example
   * snap.address(0).toString(16) // "55d0c8a00000"
   */
  address(i: number): bigint {
    return this.region(i).startAddress + BigInt(this.indexInRegion[i]) * BigInt(this.pageSizeBytes);
  }

  /**
   * Page i's bytes (a view, not a copy), or undefined when the snapshot kept none.
   *
   * @example
   * snap.page(0)?.length // 4096
   */
  page(i: number): Uint8Array | undefined {
    return this.bytes?.subarray(i * this.pageSizeBytes, (i + 1) * this.pageSizeBytes);
  }
}
