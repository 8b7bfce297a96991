/**
 * Snapshots with known contents, for the contents tests: a content is a small integer, 0 being
 * the zero page; `pageOf(c)` gives the bytes of content c.
 */
import type { MappingKind } from "../../src/contents/mapping-kind";
import type { PageHasher } from "../../src/contents/page-hash";
import { SnapshotBuilder } from "../../src/contents/snapshot-builder";
import type { PageSnapshot } from "../../src/contents/page-snapshot";

/** The bytes of content `c` (0: all zeros), `size` bytes long. */
export function pageOf(c: number, size = 4096): Uint8Array {
  const page = new Uint8Array(size);
  if (c !== 0) {
    page.fill(c & 0xff);
    new DataView(page.buffer).setUint32(size - 4, c, true); // contents 1 and 257 differ
  }
  return page;
}

/** One page of a test snapshot: its content and mapping kind. */
export interface TestPage {
  content: number;
  kind?: MappingKind;
}

/**
 * A snapshot of `pages`, one region per run of equal kinds, from bytes (so hashes are real),
 * keeping the bytes when asked.
 */
export function snapshotOf(name: string, pages: Array<number | TestPage>, options: { keepBytes?: boolean; pageSizeBytes?: number; hasher?: PageHasher } = {}): PageSnapshot {
  const size = options.pageSizeBytes ?? 4096;
  const b = new SnapshotBuilder({ name, keepBytes: options.keepBytes, pageSizeBytes: size, hasher: options.hasher });
  const list = pages.map((p) => (typeof p === "number" ? { content: p, kind: "anon" as MappingKind } : { kind: "anon" as MappingKind, ...p }));
  let address = 0x10000n * BigInt(size);
  for (let i = 0; i < list.length;) {
    let j = i;
    while (j < list.length && list[j].kind === list[i].kind) j++;
    b.beginRegion({ startAddress: address, endAddress: address + BigInt((j - i) * size), kind: list[i].kind, name: list[i].kind === "file" ? "/lib/x.so" : "" });
    for (let k = i; k < j; k++) b.addPage(k - i, pageOf(list[k].content, size));
    address += BigInt((j - i + 1) * size); // a gap between regions
    i = j;
  }
  return b.finish();
}
