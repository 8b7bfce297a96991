/**
 * What each guest-physical page of a simulated VM holds, as a compact content id (or, from a real
 * snapshot, its hash plus optional bytes), so page-sharing scanners can find equal pages.
 *
 *   guest page p:  ids[p]  (Float64, an integer id; two pages hold the same bytes ⇔ same id)
 *
 *   [0, osPages)                 OS image: id = f(os, version, p)     → equal across VMs of one OS
 *   [osPages, +libraryPages)     shared libraries: id = f(set, i)     → equal across VMs with that set
 *   the rest                     zero (id 0) with `zeroFraction`, else private (a fresh id)
 *
 * A write gives the page a fresh id (its bytes changed); `writePagesPerSecond` rewrites random
 * pages at that rate. Ids: 0 is the zero page; named contents hash into [1, 2^52); fresh ids
 * count up from 2^52, so no fresh id ever equals a named one.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { hashString32, mix32, Rng } from "../util/rng";
import { parsePages } from "../util/units";
import { Size } from "../workloads/validate";
import type { PageSnapshot } from "../contents/page-snapshot";

/** The zero page's content id. */
export const ZERO_CONTENT = 0;

const FRESH_BASE = 2 ** 52;

/** Hands out fresh content ids, unique across every VM of a host. */
export class ContentIdSpace {
  private next = FRESH_BASE;

  /**
   * A content id no page has held before.
   *
   * @example
   * new ContentIdSpace().fresh() // 4503599627370496
   */
  fresh(): number {
    return this.next++;
  }
}

/** A synthetic content model (sizes are page counts or strings such as "64 MiB"). */
export interface ContentModelOptions {
  /** OS image pages, equal in every VM of the same OS and version. */
  os?: { name: string; version: string; pages: Size };
  /** Shared-library pages, equal in every VM using the same `set` (default "default"). */
  libraries?: { pages: Size; set?: string };
  /** Of the remaining pages, the fraction that is zero (default 0); the others are private. */
  zeroFraction?: number;
  /** Pages rewritten per second, picked at random (default 0). */
  writePagesPerSecond?: number;
}

/** A named content id in [1, 2^52): the `index`-th page of the thing called `name`. */
function namedId(name: string, index: number): number {
  const a = hashString32(name) ^ mix32(index + 0x9e3779b9);
  const b = mix32(hashString32(name, 0x1234567) + index);
  return (b & 0xfffff) * 2 ** 32 + (a >>> 0) || 1;
}

/**
 * The contents of one VM's guest-physical pages.
 *
 * @example
 * const space = new ContentIdSpace();
 * const c = PageContents.fromModel(1024, { os: { name: "linux", version: "6.1", pages: 256 }, zeroFraction: 0.2 }, space, new Rng(1));
 * c.read(0) === PageContents.fromModel(1024, { os: { name: "linux", version: "6.1", pages: 256 } }, space, new Rng(2)).read(0) // true
 */
export class PageContents {
  /** Content id per guest-physical page. */
  readonly ids: Float64Array;
  /** Real bytes per page (page p at p × pageSizeBytes), when a snapshot kept them. */
  readonly bytes: Uint8Array | undefined;
  readonly pageSizeBytes: number;
  readonly writePagesPerSecond: number;
  /** Writes so far. */
  writes = 0;
  private readonly space: ContentIdSpace;
  private readonly rng: Rng;
  private writeDebt = 0;

  private constructor(ids: Float64Array, space: ContentIdSpace, rng: Rng, writePagesPerSecond: number, bytes?: Uint8Array, pageSizeBytes = 4096) {
    this.ids = ids;
    this.space = space;
    this.rng = rng;
    this.writePagesPerSecond = writePagesPerSecond;
    this.bytes = bytes;
    this.pageSizeBytes = pageSizeBytes;
  }

  /**
   * Contents made by a content model (see the module comment for the layout).
   *
   * @example
   * PageContents.fromModel(100, { zeroFraction: 1 }, new ContentIdSpace(), new Rng(1)).read(5) // 0
   */
  static fromModel(memoryPages: number, options: ContentModelOptions, space: ContentIdSpace, rng: Rng, where = "contents"): PageContents {
    if (typeof options !== "object" || options === null) throw new MemvirtError("must be a content model object or a page snapshot", { where, value: options });
    const ids = new Float64Array(memoryPages);
    let p = 0;
    if (options.os !== undefined) {
      const { name, version } = options.os;
      if (typeof name !== "string" || typeof version !== "string") throw new MemvirtError("needs a name and a version (strings)", { where: pathJoin(where, "os"), value: JSON.stringify(options.os) });
      const n = Math.min(memoryPages, parsePages(options.os.pages, pathJoin(where, "os", "pages")));
      for (let i = 0; i < n; i++) ids[p++] = namedId(`os:${name}:${version}`, i);
    }
    if (options.libraries !== undefined) {
      const n = Math.min(memoryPages - p, parsePages(options.libraries.pages, pathJoin(where, "libraries", "pages")));
      const set = options.libraries.set ?? "default";
      for (let i = 0; i < n; i++) ids[p++] = namedId(`lib:${set}`, i);
    }
    const zero = options.zeroFraction ?? 0;
    if (typeof zero !== "number" || !(zero >= 0 && zero <= 1)) throw new MemvirtError("must be a fraction between 0 and 1", { where: pathJoin(where, "zeroFraction"), value: zero });
    for (; p < memoryPages; p++) ids[p] = rng.next() < zero ? ZERO_CONTENT : space.fresh();
    const rate = options.writePagesPerSecond ?? 0;
    if (typeof rate !== "number" || !(rate >= 0) || !Number.isFinite(rate)) throw new MemvirtError("must be a number of pages per second, at least 0", { where: pathJoin(where, "writePagesPerSecond"), value: rate });
    return new PageContents(ids, space, rng, rate);
  }

  /**
   * Contents taken from a real page snapshot: page i of the VM holds the snapshot's page i (its
   * hash as the id, and its bytes when kept); VM pages beyond the snapshot are zero.
   *
   * @example
   * const c = PageContents.fromSnapshot(1024, readSnapshot("data/python-1.pages"), new ContentIdSpace(), new Rng(1));
   */
  static fromSnapshot(memoryPages: number, snapshot: PageSnapshot, space: ContentIdSpace, rng: Rng): PageContents {
    const ids = new Float64Array(memoryPages);
    const n = Math.min(memoryPages, snapshot.pageCount);
    const w = snapshot.hashWords;
    for (let i = 0; i < n; i++) {
      // 52 bits of the 64-bit hash, kept below the fresh range; bytes (when kept) are compared anyway.
      ids[i] = snapshot.isZero(i) ? ZERO_CONTENT : ((w[2 * i + 1] & 0xfffff) * 2 ** 32 + w[2 * i]) || 1;
    }
    let bytes: Uint8Array | undefined;
    const size = snapshot.pageSizeBytes;
    if (snapshot.bytes) {
      bytes = new Uint8Array(memoryPages * size);
      bytes.set(snapshot.bytes.subarray(0, n * size));
    }
    return new PageContents(ids, space, rng, 0, bytes, size);
  }

  /**
   * The content id of page `ppn`.
   *
   * @example
   * contents.read(3)
   */
  read(ppn: number): number {
    return this.ids[ppn];
  }

  /**
   * Write page `ppn`: it gets a fresh content id (and, with bytes, a changed first word).
   *
   * @example
   * contents.write(3); // contents.read(3) is now unlike any other page's
   */
  write(ppn: number): void {
    const id = this.space.fresh();
    this.ids[ppn] = id;
    if (this.bytes) {
      const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + ppn * this.pageSizeBytes, 8);
      view.setFloat64(0, id);
    }
    this.writes++;
  }

  /**
   * Pages to rewrite in the next `seconds` at `writePagesPerSecond` (random pages; fractional
   * writes carry over). The caller writes them, so the host can break sharing first.
   *
   * @example
   * for (const p of contents.pagesToWrite(0.01)) host.writePage(vm, p);
   */
  pagesToWrite(seconds: number): number[] {
    if (this.writePagesPerSecond === 0) return [];
    this.writeDebt += this.writePagesPerSecond * seconds;
    const n = Math.floor(this.writeDebt);
    this.writeDebt -= n;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.rng.int(this.ids.length));
    return out;
  }

  /**
   * Whether pages `a` of this and `b` of `other` hold the same contents: the full comparison a
   * scanner makes before a merge (bytes when both have them, else content ids).
   *
   * @example
   * contents.sameAs(0, other, 0)
   */
  sameAs(a: number, other: PageContents, b: number): boolean {
    if (this.ids[a] !== other.ids[b]) return false;
    if (!this.bytes || !other.bytes) return true;
    const s = this.pageSizeBytes;
    const x = this.bytes.subarray(a * s, (a + 1) * s);
    const y = other.bytes.subarray(b * s, (b + 1) * s);
    for (let i = 0; i < s; i++) if (x[i] !== y[i]) return false;
    return true;
  }
}
