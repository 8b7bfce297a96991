/**
 * `assignContentIds`: give every page of a set of snapshots a content id, equal ids for equal
 * contents, so sharing can be counted without BigInt or strings.
 *
 * Contents are told apart by their 64-bit hash, except:
 * - zero pages are content 0, decided by their zero flag (all bytes compared), never by hash;
 * - when every snapshot kept its bytes (and `compareBytes` is not false), pages whose hashes
 *   are equal are compared byte for byte, as a hypervisor must before it merges: a hash
 *   collision then yields two contents, never one. Without bytes a collision would merge two
 *   contents; with a 64-bit hash over a million pages the chance is about 3·10⁻⁸.
 *
 * The table is open addressing over the two 32-bit halves of the hash (typed arrays, no
 * per-page allocation); pages with equal hashes but different bytes hang off a chain.
 */
import { MemvirtError } from "../util/errors";
import { PAGE_ZERO, type PageSnapshot } from "./page-snapshot";

/** Content ids of every page, per snapshot. */
export interface ContentIds {
  /** `ids[s][i]`: the content of page i of snapshot s; 0 is the zero page. */
  ids: Int32Array[];
  /** Content ids in use: 1 + the largest id (id 0 is reserved for the zero page, used or not). */
  idCount: number;
  /** "bytes" when equal hashes were confirmed by comparing bytes, else "hash". */
  comparedBy: "bytes" | "hash";
  /** Contents whose hash equals an earlier content's though their bytes differ (found only with bytes). */
  collidingContents: number;
}

/**
 * Check that snapshots can be compared: one page size and one hash function.
 *
 * @example
 * checkComparable([a, b]); // throws "b.mvpages: page size 16384 differs from a.mvpages's 4096 …"
 */
export function checkComparable(snapshots: readonly PageSnapshot[]): void {
  const first = snapshots[0];
  for (const s of snapshots.slice(1)) {
    if (s.pageSizeBytes !== first.pageSizeBytes) throw new MemvirtError(`page size ${s.pageSizeBytes} differs from the ${first.pageSizeBytes} of ${first.name}; pages of different sizes never share`, { where: s.name });
    if (s.info.hash !== first.info.hash) throw new MemvirtError(`hashed with ${s.info.hash}, ${first.name} with ${first.info.hash}; their hashes cannot be compared`, { where: s.name });
  }
}

/**
 * Content ids for every page of `snapshots` (see the module comment).
 *
 * @example
 * const { ids, comparedBy } = assignContentIds([a, b]);
 * ids[1][0] === ids[0][0] // page 0 of b has the contents of page 0 of a
 */
export function assignContentIds(snapshots: readonly PageSnapshot[], options: { compareBytes?: boolean } = {}): ContentIds {
  if (snapshots.length > 0) checkComparable(snapshots);
  const byBytes = options.compareBytes !== false && snapshots.length > 0 && snapshots.every((s) => s.bytes !== undefined);
  const total = snapshots.reduce((n, s) => n + s.pageCount, 0);
  let capacity = 16;
  while (capacity < 2 * total) capacity *= 2;
  const mask = capacity - 1;
  const slotLo = new Uint32Array(capacity);
  const slotHi = new Uint32Array(capacity);
  const slotContent = new Int32Array(capacity).fill(-1);
  // Per content: a page that holds it (for byte comparison) and the next content of equal hash.
  const repSnapshot = new Int32Array(total + 1);
  const repPage = new Int32Array(total + 1);
  const nextSameHash = new Int32Array(total + 1).fill(-1);
  let idCount = 1;
  let collisions = 0;
  const ids = snapshots.map((snap, s) => {
    const out = new Int32Array(snap.pageCount);
    const words = snap.hashWords;
    for (let i = 0; i < snap.pageCount; i++) {
      if (snap.flags[i] & PAGE_ZERO) continue; // content 0
      const lo = words[2 * i];
      const hi = words[2 * i + 1];
      let slot = (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
      while (slotContent[slot] !== -1 && (slotLo[slot] !== lo || slotHi[slot] !== hi)) slot = (slot + 1) & mask;
      let id = slotContent[slot];
      if (id === -1) {
        id = idCount++;
        slotLo[slot] = lo;
        slotHi[slot] = hi;
        slotContent[slot] = id;
        repSnapshot[id] = s;
        repPage[id] = i;
      } else if (byBytes) {
        const page = snap.page(i)!;
        let last = id;
        let found = -1;
        for (let c = id; c !== -1; last = c, c = nextSameHash[c]) {
          if (Buffer.compare(snapshots[repSnapshot[c]].page(repPage[c])!, page) === 0) { found = c; break; }
        }
        if (found === -1) {
          collisions++;
          found = idCount++;
          repSnapshot[found] = s;
          repPage[found] = i;
          nextSameHash[last] = found;
        }
        id = found;
      }
      out[i] = id;
    }
    return out;
  });
  return { ids, idCount, comparedBy: byBytes ? "bytes" : "hash", collidingContents: collisions };
}
