/**
 * The page snapshot file format (version 1): a small binary header, JSON metadata, then one
 * typed-array section per field. The same format holds a process (`capture-pages`) and a
 * guest's physical memory (`capture-vm`), which is one region of kind `physical`.
 *
 *   offset  size               field
 *   ──────  ─────────────────  ──────────────────────────────────────────────────────────
 *        0  8 bytes            magic "MVPAGES\0"
 *        8  u32                format version: 1
 *       12  u32                page size in bytes (a power of two, 16 B … 1 GiB)
 *       16  u32                P: pages
 *       20  u32                R: regions
 *       24  u32                flags: bit 0 = page bytes included
 *       28  u32                M: metadata length in bytes
 *       32  M bytes            metadata, UTF-8 JSON: { hash: "xxh64", source: { kind:
 *                              "process", pid, command } | { kind: "guest", … }, capturedAt,
 *                              machine, counts: { swappedPages, unreadablePages },
 *                              regionNames: [R strings] }
 *           R × u64            region start addresses (virtual, or guest-physical)
 *           R × u64            region end addresses (exclusive)
 *           R × u32            pages per region (a region's pages are consecutive below)
 *           R × u8             region kind codes (MAPPING_KINDS: anon file heap stack other physical)
 *           P × u64            page hashes (XXH64 of the page's bytes, seed 0)
 *           P × u32            page index within its region: address = start + index × page size
 *           P × u8             page flags: bit 0 = zero page (all bytes zero), bit 1 = pagemap's
 *                              "file page or shared anonymous" (bit 61)
 *           P × page size      page bytes, only when header flag bit 0 is set
 *
 * Integers are little-endian. Every section after the header starts on an 8-byte boundary
 * (zero padding after it), so a reader maps each as a typed array without copying. The file
 * ends exactly after the last section: anything shorter is truncated, anything longer is
 * refused. The whole file may be gzip-compressed (a hash-only snapshot shrinks by about half:
 * hashes do not compress, the rest does).
 */
import * as os from "node:os";
import { MemvirtError } from "../util/errors";
import { MAPPING_KINDS } from "./mapping-kind";
import { PAGE_ZERO, PageSnapshot, type SnapshotInfo, type SnapshotRegion } from "./page-snapshot";
import { isValidPageSize } from "./snapshot-builder";
import { isZeroPage } from "./page-hash";

/** The first 8 bytes of every snapshot file. */
export const SNAPSHOT_MAGIC = Buffer.from("MVPAGES\0", "latin1");
/** The format version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;
/** Bytes in the fixed header. */
export const SNAPSHOT_HEADER_BYTES = 32;
const FLAG_BYTES = 1;

const pad8 = (n: number) => (n + 7) & ~7;

function checkLittleEndian(): void {
  if (os.endianness() !== "LE") throw new Error("page snapshots are little-endian; this big-endian host cannot map them");
}

/** The stored JSON: the snapshot's info plus its region names. */
interface StoredMetadata extends SnapshotInfo {
  regionNames: string[];
}

/**
 * The file's bytes as a list of parts to write in order (typed arrays are not copied).
 *
 * @example
 * const parts = encodeSnapshot(snap);
 * fs.writeFileSync("s.mvpages", Buffer.concat(parts));
 */
export function encodeSnapshot(snap: PageSnapshot): Uint8Array[] {
  checkLittleEndian();
  const r = snap.regions.length;
  const p = snap.pageCount;
  const metadata: StoredMetadata = { ...snap.info, regionNames: snap.regions.map((x) => x.name) };
  const json = Buffer.from(JSON.stringify(metadata), "utf8");
  const head = Buffer.alloc(SNAPSHOT_HEADER_BYTES + pad8(json.length));
  SNAPSHOT_MAGIC.copy(head, 0);
  head.writeUInt32LE(SNAPSHOT_VERSION, 8);
  head.writeUInt32LE(snap.pageSizeBytes, 12);
  head.writeUInt32LE(p, 16);
  head.writeUInt32LE(r, 20);
  head.writeUInt32LE(snap.bytes === undefined ? 0 : FLAG_BYTES, 24);
  head.writeUInt32LE(json.length, 28);
  json.copy(head, SNAPSHOT_HEADER_BYTES);
  const parts: Uint8Array[] = [head];
  const section = (array: ArrayBufferView) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    parts.push(bytes);
    if (pad8(bytes.length) !== bytes.length) parts.push(new Uint8Array(pad8(bytes.length) - bytes.length));
  };
  section(BigUint64Array.from(snap.regions, (x) => x.startAddress));
  section(BigUint64Array.from(snap.regions, (x) => x.endAddress));
  section(Uint32Array.from(snap.regions, (x) => x.pageCount));
  section(Uint8Array.from(snap.regions, (x) => MAPPING_KINDS.indexOf(x.kind)));
  section(snap.hashes);
  section(snap.indexInRegion);
  section(snap.flags);
  if (snap.bytes !== undefined) section(snap.bytes);
  return parts;
}

/**
 * Read a snapshot from the file's (uncompressed) bytes. `file` names it in errors: a bad
 * magic, an unknown version, a truncated or overlong file and inconsistent sections are each
 * one line, `FILE: problem`.
 *
 * @example
 * const snap = decodeSnapshot(fs.readFileSync("s.mvpages"), "s.mvpages");
 */
export function decodeSnapshot(data: Uint8Array, file: string): PageSnapshot {
  checkLittleEndian();
  const fail = (problem: string): never => {
    throw new MemvirtError(problem, { where: file });
  };
  if (data.length < SNAPSHOT_MAGIC.length || !SNAPSHOT_MAGIC.equals(data.subarray(0, SNAPSHOT_MAGIC.length))) {
    const start = Buffer.from(data.subarray(0, SNAPSHOT_MAGIC.length));
    if (SNAPSHOT_MAGIC.subarray(0, start.length).equals(start)) fail(`truncated: ${data.length} bytes, shorter than the ${SNAPSHOT_HEADER_BYTES}-byte header`);
    fail(`not a memvirt page snapshot (it starts ${JSON.stringify(start.toString("latin1"))}, not "MVPAGES")`);
  }
  if (data.length < SNAPSHOT_HEADER_BYTES) fail(`truncated: ${data.length} bytes, shorter than the ${SNAPSHOT_HEADER_BYTES}-byte header`);
  // Typed-array views need aligned offsets: copy the (rare) misaligned buffer once.
  if (data.byteOffset % 8 !== 0) data = new Uint8Array(data);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) fail(`snapshot format version ${version}; this memvirt reads version ${SNAPSHOT_VERSION}`);
  const pageSizeBytes = view.getUint32(12, true);
  const p = view.getUint32(16, true);
  const r = view.getUint32(20, true);
  const flags = view.getUint32(24, true);
  const m = view.getUint32(28, true);
  if (!isValidPageSize(pageSizeBytes)) fail(`corrupt header: page size ${pageSizeBytes} is not a power of two from 16 B to 1 GiB`);
  if ((flags & ~FLAG_BYTES) !== 0) fail(`corrupt header: unknown flags 0x${flags.toString(16)}`);
  const hasBytes = (flags & FLAG_BYTES) !== 0;
  const sizes = [pad8(m), 8 * r, 8 * r, pad8(4 * r), pad8(r), 8 * p, pad8(4 * p), pad8(p), hasBytes ? p * pageSizeBytes : 0];
  const expected = sizes.reduce((a, b) => a + b, SNAPSHOT_HEADER_BYTES);
  if (data.length < expected) fail(`truncated: the header promises ${expected} bytes (${p} pages, ${r} regions${hasBytes ? ", with bytes" : ""}), the file has ${data.length}`);
  if (data.length > expected) fail(`${data.length - expected} bytes of unexpected data after the snapshot's ${expected} bytes`);

  let offset = SNAPSHOT_HEADER_BYTES;
  const take = (size: number) => {
    const at = offset;
    offset += size;
    return data.byteOffset + at;
  };
  let metadata: StoredMetadata;
  try {
    metadata = JSON.parse(Buffer.from(data.buffer, take(pad8(m)), m).toString("utf8"));
  } catch {
    return fail("corrupt metadata: not valid JSON");
  }
  if (metadata === null || typeof metadata !== "object" || typeof metadata.hash !== "string" || typeof metadata.source !== "object" || metadata.source === null) fail("corrupt metadata: no hash name or source");
  if (!Array.isArray(metadata.regionNames) || metadata.regionNames.length !== r) fail(`corrupt metadata: ${r} regions in the header but ${Array.isArray(metadata.regionNames) ? metadata.regionNames.length : "no"} region names`);
  const buffer = data.buffer;
  const starts = new BigUint64Array(buffer, take(8 * r), r);
  const ends = new BigUint64Array(buffer, take(8 * r), r);
  const counts = new Uint32Array(buffer, take(pad8(4 * r)), r);
  const kinds = new Uint8Array(buffer, take(pad8(r)), r);
  const hashes = new BigUint64Array(buffer, take(8 * p), p);
  const indexInRegion = new Uint32Array(buffer, take(pad8(4 * p)), p);
  const pageFlags = new Uint8Array(buffer, take(pad8(p)), p);
  const bytes = hasBytes ? new Uint8Array(buffer, take(p * pageSizeBytes), p * pageSizeBytes) : undefined;

  const regions: SnapshotRegion[] = [];
  let firstPage = 0;
  const size = BigInt(pageSizeBytes);
  for (let i = 0; i < r; i++) {
    const kind = MAPPING_KINDS[kinds[i]];
    if (kind === undefined) fail(`corrupt region ${i}: kind code ${kinds[i]}`);
    if (ends[i] <= starts[i] || starts[i] % size !== 0n || ends[i] % size !== 0n || (i > 0 && starts[i] < ends[i - 1])) fail(`corrupt region ${i}: [0x${starts[i].toString(16)}, 0x${ends[i].toString(16)}) is not a range of whole pages after the region before`);
    const name = metadata.regionNames[i];
    if (typeof name !== "string") fail(`corrupt metadata: region name ${i} is not a string`);
    if (firstPage + counts[i] > p) fail(`corrupt region ${i}: its ${counts[i]} pages run past the ${p} pages in the header`);
    const regionPages = (ends[i] - starts[i]) / size;
    let last = -1;
    for (let j = firstPage; j < firstPage + counts[i]; j++) {
      if (indexInRegion[j] <= last || BigInt(indexInRegion[j]) >= regionPages) fail(`corrupt page ${j}: index ${indexInRegion[j]} in region ${i} (${regionPages} pages) is out of order or outside it`);
      last = indexInRegion[j];
    }
    regions.push({ startAddress: starts[i], endAddress: ends[i], kind, name, firstPage, pageCount: counts[i] });
    firstPage += counts[i];
  }
  if (firstPage !== p) fail(`corrupt: the regions hold ${firstPage} pages, the header says ${p}`);
  if (bytes !== undefined) {
    for (let i = 0; i < p; i++) {
      const page = bytes.subarray(i * pageSizeBytes, (i + 1) * pageSizeBytes);
      if (((pageFlags[i] & PAGE_ZERO) !== 0) !== isZeroPage(page)) fail(`corrupt page ${i}: its zero flag disagrees with its bytes`);
    }
  }
  const { regionNames: _names, ...info } = metadata;
  return new PageSnapshot({ name: file, pageSizeBytes, info, regions, hashes, flags: pageFlags, indexInRegion, bytes });
}
