/**
 * A push parser for Valgrind Lackey traces (`valgrind --tool=lackey --trace-mem=yes`).
 *
 *   I  04016b0,3        instruction fetch  → FETCH
 *    L 04222cac,4       load               → READ
 *    S 7ff000398,8      store              → WRITE
 *    M 0421d9c8,4       modify (load+store) → one WRITE per page
 *   ==1234== ...        valgrind banner     → skipped, like blank and other lines
 *
 * Each record is one access to each 4 KiB page its byte range [addr, addr + size − 1] touches,
 * in address order: pages addr >> 12 through (addr + size − 1) >> 12. Hardware looks up every
 * page an access touches, so an 8-byte load at 0x1ffc is two accesses (pages 1 and 2); almost
 * every record touches one page. An `M` is one write per page, not a read and a write.
 *
 * Sizes: 0 is malformed (no access covers no bytes). Above `MAX_RECORD_BYTES` (64 KiB, at most
 * 17 pages) is rejected as absurd rather than expanded: Lackey itself never writes a size above
 * 512 (`MAX_DSIZE` in lackey/lk_main.c; instructions are at most 20 bytes), so such a record
 * comes from a broken converter, and a size of 10^12 would otherwise be 2^28 accesses.
 *
 * Input that is not a trace is an error, never an empty trace: no bytes at all, binary bytes or
 * UTF-16 in the first `SNIFF_BYTES` (NUL, or not UTF-8), or text with no record line (the error
 * gives the count of skipped lines). A UTF-8 byte-order mark at the start is dropped.
 *
 * Invariants:
 * - Bytes are parsed straight from the chunks (no string per line). Chunks may split a line
 *   anywhere: a partial last line is carried into the next chunk, so the records and the line
 *   numbers are the same however the input is cut.
 * - A line that looks like a record (optional blanks, one of I/L/S/M, then a blank) must be a
 *   valid record, otherwise MemvirtError "FILE:LINE: ... (got "the line")". Other lines are skipped.
 * - The page number is built from all hex digits but the last three, so addresses up to 2^64
 *   give exact page numbers (< 2^52) in a double; the last three digits are the page offset.
 * - `addressBits` (default 64) bounds the address space: a record reaching beyond it is an error
 *   at FILE:LINE that echoes the hex address as written in the trace.
 * - Memory is O(batchSize + longest line): accesses go out in batches through `onBatch`, into
 *   typed arrays allocated once; the per-record path allocates nothing.
 */
import { MemvirtError } from "../util/errors";
import { FETCH, READ, WRITE } from "../workloads/workload";
import { binaryProblem, SNIFF_BYTES, utf8BomLength } from "./sniff-text";

/** Counts from a parse. */
export interface LackeyStats {
  /** Lines seen (a final line without newline counts). */
  lines: number;
  /** Record lines parsed. */
  records: number;
  /** Page accesses delivered: one per page each record touches, so ≥ records. */
  accesses: number;
  /** Records whose byte range crosses a page boundary (each gave 2 or more accesses). */
  multiPageRecords: number;
  /** Lines skipped: blank, `==` banners and other non-record lines. */
  skipped: number;
  /** Bytes of (uncompressed) text parsed, a byte-order mark included. */
  bytes: number;
  /** I records. */
  fetches: number;
  /** L records. */
  reads: number;
  /** S and M records. */
  writes: number;
  /** M records (also counted in `writes`). */
  modifies: number;
}

/** Receives a batch of accesses; the arrays are reused after the call returns (copy to keep). */
export type LackeyBatchHandler = (pages: Float64Array, kinds: Uint8Array, count: number) => void;

/**
 * Options of a parser.
 * @internal
 */
export interface LackeyParserOptions {
  /** Name used in error messages (FILE:LINE). Default "<trace>". */
  fileName?: string;
  /** Accesses per batch (default 65536). */
  batchSize?: number;
  /** Stop after this many records (default: all); every page of the last record is delivered. */
  maxRecords?: number;
  /**
   * Width of the virtual address space, 13 to 64 (default 64): a record whose range reaches
   * 2^addressBits is an error naming FILE:LINE and the address as written. 48 for 4-level page
   * tables, 57 for 5-level (`addressBitsOf(levels)`).
   */
  addressBits?: number;
}

/**
 * Largest record size accepted, in bytes: 16 pages, so a record is at most 17 accesses.
 * @internal
 */
export const MAX_RECORD_BYTES = 4096 * 16;

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const MALFORMED = "malformed Lackey record: ";
const PAGE_BYTES = 4096;
/** Record lines are short; a longer line that looks like a record is malformed. */
const MAX_LINE_BYTES = 4096;

/** Hex digit values, -1 for non-digits. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}
/** Record kinds by first letter, -1 for others. */
const KIND = new Int8Array(256).fill(-1);
KIND[73] = FETCH; // I
KIND[76] = READ; // L
KIND[83] = WRITE; // S
KIND[77] = WRITE; // M

/**
 * Parse a Lackey trace pushed in chunks of any size.
 *
 * @internal
 * @example
 * const parser = new LackeyParser((pages, kinds, n) => console.log(n), { fileName: "ls.lackey" });
 * parser.push(Buffer.from("I  0400d7d4,8\n L 7ff0005b8,"));
 * parser.push(Buffer.from("8\n L 1ffc,8\n"));
 * parser.end(); // logs 4 (the last record crosses into page 2); stats.records === 3, stats.accesses === 4
 */
export class LackeyParser {
  readonly stats: LackeyStats = { lines: 0, records: 0, accesses: 0, multiPageRecords: 0, skipped: 0, bytes: 0, fetches: 0, reads: 0, writes: 0, modifies: 0 };
  readonly fileName: string;
  private readonly onBatch: LackeyBatchHandler;
  private readonly pages: Float64Array;
  private readonly kinds: Uint8Array;
  private readonly maxRecords: number;
  private readonly addressBits: number;
  /** Largest page number inside the address space: 2^(addressBits - 12) - 1. */
  private readonly maxPage: number;
  /** Addresses with at most this many hex digits are inside the space and exact: min(13, bits / 4). */
  private readonly safeDigits: number;
  /** Records by their letter's byte value (I, L, S, M). */
  private readonly letterCounts = new Float64Array(256);
  /** Accesses beyond one per record, so stats.accesses = records + extraPages. */
  private extraPages = 0;
  private count = 0;
  private carry = new Uint8Array(256);
  private carryLength = 0;
  /** Inside an over-long non-record line: drop bytes up to the next newline. */
  private skippingLongLine = false;
  private finished = false;
  /** The first bytes, held until SNIFF_BYTES arrived (or the end) to check they are text. */
  private head: Uint8Array | null = null;
  private headLength = 0;
  private sniffed = false;
  private bomBytes = 0;

  constructor(onBatch: LackeyBatchHandler, options: LackeyParserOptions = {}) {
    this.onBatch = onBatch;
    this.fileName = options.fileName ?? "<trace>";
    const batchSize = options.batchSize ?? 65536;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new MemvirtError("batchSize must be a whole number >= 1", { where: "batchSize", value: batchSize });
    const bits = options.addressBits ?? 64;
    if (!Number.isInteger(bits) || bits < 13 || bits > 64) throw new MemvirtError("addressBits must be a whole number from 13 to 64", { where: "addressBits", value: bits });
    this.addressBits = bits;
    this.maxPage = 2 ** (bits - 12) - 1;
    this.safeDigits = Math.min(13, Math.floor(bits / 4));
    this.pages = new Float64Array(batchSize);
    this.kinds = new Uint8Array(batchSize);
    this.maxRecords = options.maxRecords ?? Infinity;
  }

  /** True once `maxRecords` records were parsed or `end()` was called: more input is ignored. */
  get done(): boolean {
    return this.finished;
  }

  /** Parse one chunk of text. Throws a MemvirtError naming the file if the start is not text. */
  push(chunk: Uint8Array): void {
    if (this.finished) return;
    this.stats.bytes += chunk.length;
    if (this.sniffed) {
      this.pushText(chunk);
      return;
    }
    if (this.headLength === 0 && chunk.length >= SNIFF_BYTES) {
      this.startText(chunk);
      return;
    }
    // Short first chunks: copy them (the caller may reuse its buffer) until the window is full.
    this.head ??= new Uint8Array(SNIFF_BYTES);
    const take = Math.min(SNIFF_BYTES - this.headLength, chunk.length);
    this.head.set(chunk.subarray(0, take), this.headLength);
    this.headLength += take;
    if (this.headLength < SNIFF_BYTES) return;
    const head = this.head;
    this.head = null;
    this.startText(head);
    if (take < chunk.length && !this.finished) this.pushText(chunk.subarray(take));
  }

  /**
   * Finish: parse a final line without newline and deliver the last batch. Returns the stats.
   * Throws a MemvirtError naming the file when the input was empty or held no record line.
   */
  end(): LackeyStats {
    if (!this.sniffed) {
      const head = this.head === null ? new Uint8Array(0) : this.head.subarray(0, this.headLength);
      this.head = null;
      this.startText(head);
    }
    if (!this.finished) {
      if (this.skippingLongLine) {
        this.stats.lines++;
        this.stats.skipped++;
      } else if (this.carryLength > 0) {
        this.appendCarry(Uint8Array.of(NL), 0, 1);
        this.parseLines(this.carry, 0, this.carryLength);
      }
      this.carryLength = 0;
    }
    this.finished = true;
    this.flush();
    const s = this.stats;
    if (s.records === 0) {
      if (s.bytes - this.bomBytes === 0) {
        throw new MemvirtError(`empty trace: no input (${s.bytes === 0 ? "0 bytes" : "only a byte-order mark"}), expected Lackey records such as " L 04222cac,4"`, { where: this.fileName });
      }
      const skipped = `${s.skipped.toLocaleString("en-US")} line${s.skipped === 1 ? "" : "s"} skipped`;
      throw new MemvirtError(`no Lackey records (${skipped}, none of the form " L addr,size")`, { where: this.fileName });
    }
    return s;
  }

  /** Check the first bytes are text, drop a UTF-8 byte-order mark, and parse them. */
  private startText(head: Uint8Array): void {
    this.sniffed = true;
    const problem = binaryProblem(head.subarray(0, SNIFF_BYTES));
    if (problem !== undefined) throw new MemvirtError(`not a Lackey trace: ${problem}`, { where: this.fileName });
    this.bomBytes = utf8BomLength(head);
    this.pushText(head.subarray(this.bomBytes));
  }

  private pushText(chunk: Uint8Array): void {
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      this.appendCarry(chunk, 0, chunk.length);
      return;
    }
    let start = 0;
    if (this.carryLength > 0 || this.skippingLongLine) {
      const nl = chunk.indexOf(NL);
      if (this.skippingLongLine) {
        this.skippingLongLine = false;
        this.stats.lines++;
        this.stats.skipped++;
      } else {
        this.appendCarry(chunk, 0, nl + 1);
        if (this.skippingLongLine) {
          this.skippingLongLine = false;
          this.stats.lines++;
          this.stats.skipped++;
        } else {
          this.parseLines(this.carry, 0, this.carryLength);
        }
      }
      this.carryLength = 0;
      start = nl + 1;
    }
    if (start <= last && !this.finished) this.parseLines(chunk, start, last + 1);
    if (!this.finished) this.appendCarry(chunk, last + 1, chunk.length);
  }

  private flush(): void {
    if (this.count > 0) {
      const n = this.count;
      this.count = 0;
      this.onBatch(this.pages, this.kinds, n);
    }
  }

  private appendCarry(src: Uint8Array, from: number, to: number): void {
    if (this.skippingLongLine || to <= from) return;
    const need = this.carryLength + (to - from);
    if (need > MAX_LINE_BYTES) {
      const text = new Uint8Array(Math.min(need, MAX_LINE_BYTES + 1));
      text.set(this.carry.subarray(0, this.carryLength));
      text.set(src.subarray(from, from + text.length - this.carryLength), this.carryLength);
      if (looksLikeRecord(text, 0, text.length)) this.fail(`${MALFORMED}record line is too long`, text, 0, text.length, this.stats.lines + 1);
      this.skippingLongLine = true;
      this.carryLength = 0;
      return;
    }
    if (need > this.carry.length) {
      const bigger = new Uint8Array(Math.max(need, this.carry.length * 2));
      bigger.set(this.carry.subarray(0, this.carryLength));
      this.carry = bigger;
    }
    this.carry.set(src.subarray(from, to), this.carryLength);
    this.carryLength = need;
  }

  /** Parse whole lines in buf[pos, end); buf[end - 1] is a newline. */
  private parseLines(buf: Uint8Array, pos: number, end: number): void {
    const pages = this.pages;
    const kinds = this.kinds;
    const batchSize = pages.length;
    const maxPage = this.maxPage;
    const safeDigits = this.safeDigits;
    const maxRecords = this.maxRecords;
    // Records by letter in a table, not a branch per kind (measured: about 3% of the parse).
    const letterCounts = this.letterCounts;
    const stats = this.stats;
    let count = this.count;
    let lines = stats.lines;
    let records = stats.records;
    let skipped = stats.skipped;
    while (pos < end) {
      const lineStart = pos;
      lines++;
      let c = buf[pos];
      while (c === SPACE || c === TAB) c = buf[++pos];
      const letter = c;
      const kind = KIND[c];
      // A letter is never the final newline, so buf[pos + 1] is in bounds.
      if (kind < 0 || (buf[pos + 1] !== SPACE && buf[pos + 1] !== TAB)) {
        // Not a record: skip to the end of the line.
        while (c !== NL) c = buf[++pos];
        pos++;
        skipped++;
        continue;
      }
      pos += 2;
      c = buf[pos];
      while (c === SPACE || c === TAB) c = buf[++pos];
      const hexStart = pos;
      // Accumulate the whole address while scanning; exact for up to 13 digits (< 2^52).
      let address = 0;
      let digit = HEX[c];
      while (digit >= 0) {
        address = address * 16 + digit;
        c = buf[++pos];
        digit = HEX[c];
      }
      const hexEnd = pos;
      let size = 0;
      let problem = "";
      if (hexEnd === hexStart) problem = MALFORMED + (isWordByte(c) ? "bad hex address" : "expected a hex address after the record kind");
      else if (c !== COMMA) problem = MALFORMED + (isWordByte(c) ? "bad hex address" : "expected ',SIZE' after the hex address");
      else {
        c = buf[++pos];
        const sizeStart = pos;
        while (c >= 48 && c <= 57) {
          size = size * 10 + (c - 48);
          c = buf[++pos];
        }
        const sizeEnd = pos;
        if (pos === sizeStart) problem = MALFORMED + "expected a decimal size after ','";
        else if (isWordByte(c)) problem = MALFORMED + "bad size";
        else {
          while (c === SPACE || c === TAB || c === CR) c = buf[++pos];
          if (c !== NL) problem = MALFORMED + "unexpected text after the size";
          else if (size === 0) problem = MALFORMED + "size 0 (a record covers at least one byte)";
          else if (size > MAX_RECORD_BYTES) problem = MALFORMED + `size ${latin1(buf, sizeStart, sizeEnd, 40)} is larger than ${MAX_RECORD_BYTES} bytes (Lackey never writes more than 512)`;
        }
      }
      let page = Math.floor(address / PAGE_BYTES);
      let offset = address - page * PAGE_BYTES;
      let lastPage = page;
      // The common record (few digits, inside one page) skips this: at most `safeDigits` hex
      // digits cannot reach past the address space, and one page needs no range.
      if ((hexEnd - hexStart > safeDigits || offset + size > PAGE_BYTES) && problem === "") {
        if (hexEnd - hexStart > 13) {
          // Wide address: rebuild the page from all digits but the last three, exactly.
          page = 0;
          for (let i = hexStart; i < hexEnd - 3; i++) page = page * 16 + HEX[buf[i]];
          offset = HEX[buf[hexEnd - 3]] * 256 + HEX[buf[hexEnd - 2]] * 16 + HEX[buf[hexEnd - 1]];
        }
        lastPage = page + Math.floor((offset + size - 1) / PAGE_BYTES);
        if (lastPage > maxPage) problem = this.outsideMessage(buf, hexStart, hexEnd, size, page > maxPage);
      }
      if (problem !== "") {
        this.save(count, lines, records, skipped);
        let lineEnd = pos;
        while (buf[lineEnd] !== NL) lineEnd++;
        this.fail(problem, buf, lineStart, lineEnd, lines);
      }
      pos++;
      letterCounts[letter]++;
      records++;
      if (lastPage === page) {
        pages[count] = page;
        kinds[count] = kind;
        if (++count === batchSize) {
          this.save(count, lines, records, skipped);
          this.flush();
          count = 0;
        }
      } else {
        // A record crossing a page boundary (rare): out of line, so this loop stays small.
        this.save(count, lines, records, skipped);
        this.emitPages(page, lastPage, kind);
        count = this.count;
      }
      if (records >= maxRecords) {
        this.save(count, lines, records, skipped);
        this.flush();
        this.finished = true;
        return;
      }
    }
    this.save(count, lines, records, skipped);
  }

  /** Store parseLines' running counts in `count` and `stats` (accesses are kept in extraPages). */
  private save(count: number, lines: number, records: number, skipped: number): void {
    const stats = this.stats;
    const letters = this.letterCounts;
    this.count = count;
    stats.lines = lines;
    stats.records = records;
    stats.skipped = skipped;
    stats.accesses = records + this.extraPages;
    stats.fetches = letters[73];
    stats.reads = letters[76];
    stats.writes = letters[83] + letters[77];
    stats.modifies = letters[77];
  }

  /**
   * Deliver the accesses to pages first..last (first < last) of the record just counted, and
   * flush each full batch on the way. `this.count` and the stats are current on entry and exit.
   */
  private emitPages(first: number, last: number, kind: number): void {
    const pages = this.pages;
    const kinds = this.kinds;
    this.stats.multiPageRecords++;
    for (let p = first; p <= last; p++) {
      pages[this.count] = p;
      kinds[this.count] = kind;
      if (p > first) {
        this.extraPages++;
        this.stats.accesses++;
      }
      if (++this.count === pages.length) this.flush();
    }
  }

  /** The error for a record outside the address space, with the hex as the trace wrote it. */
  private outsideMessage(buf: Uint8Array, hexStart: number, hexEnd: number, size: number, startOutside: boolean): string {
    const typed = latin1(buf, hexStart, hexEnd, 40);
    const space = `the ${this.addressBits}-bit virtual address space`;
    if (!startOutside) return `record ${typed},${size} runs past the end of ${space}`;
    return this.addressBits === 64 ? `${MALFORMED}address ${typed} is wider than 64 bits` : `address ${typed} is outside ${space}`;
  }

  private fail(message: string, buf: Uint8Array, start: number, end: number, line: number): never {
    let e = end;
    while (e > start && (buf[e - 1] === CR || buf[e - 1] === NL)) e--;
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, Math.min(e - start, 200)).toString("latin1");
    throw new MemvirtError(message, { where: `${this.fileName}:${line}`, value: text });
  }
}

/** The bytes buf[start, end) as written, cut to `max` characters plus "...". */
function latin1(buf: Uint8Array, start: number, end: number, max: number): string {
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, Math.min(end - start, max)).toString("latin1");
  return end - start > max ? `${text}...` : text;
}

function isWordByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function looksLikeRecord(buf: Uint8Array, pos: number, end: number): boolean {
  while (pos < end && (buf[pos] === SPACE || buf[pos] === TAB)) pos++;
  return pos + 1 < end && KIND[buf[pos]] >= 0 && (buf[pos + 1] === SPACE || buf[pos + 1] === TAB);
}
