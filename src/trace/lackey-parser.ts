/**
 * A push parser for Valgrind Lackey traces (`valgrind --tool=lackey --trace-mem=yes`).
 *
 *   I  04016b0,3        instruction fetch  → FETCH
 *    L 04222cac,4       load               → READ
 *    S 7ff000398,8      store              → WRITE
 *    M 0421d9c8,4       modify (load+store) → one WRITE
 *   ==1234== ...        valgrind banner     → skipped, like blank and other lines
 *
 * Each record is one access to the page holding its start address: page = addr >> 12.
 *
 * Invariants:
 * - Bytes are parsed straight from the chunks (no string per line). Chunks may split a line
 *   anywhere: a partial last line is carried into the next chunk, so the records and the line
 *   numbers are the same however the input is cut.
 * - A line that looks like a record (optional blanks, one of I/L/S/M, then a blank) must be a
 *   valid record, otherwise MemvirtError "FILE:LINE: ... (got "the line")". Other lines are skipped.
 * - The page number is built from all hex digits but the last three, so addresses up to 2^64
 *   give exact page numbers (< 2^52) in a double.
 * - Memory is O(batchSize + longest line): records go out in batches through `onBatch`.
 */
import { MemvirtError } from "../util/errors";
import { FETCH, READ, WRITE } from "../workloads/workload";

/** Counts from a parse. */
export interface LackeyStats {
  /** Lines seen (a final line without newline counts). */
  lines: number;
  /** Records parsed (= accesses). */
  records: number;
  /** Lines skipped: blank, `==` banners and other non-record lines. */
  skipped: number;
  /** Bytes of (uncompressed) text parsed. */
  bytes: number;
  /** I records. */
  fetches: number;
  /** L records. */
  reads: number;
  /** S and M records. */
  writes: number;
}

/** Receives a batch of records; the arrays are reused after the call returns (copy to keep). */
export type LackeyBatchHandler = (pages: Float64Array, kinds: Uint8Array, count: number) => void;

/** Options of a parser. */
export interface LackeyParserOptions {
  /** Name used in error messages (FILE:LINE). Default "<trace>". */
  fileName?: string;
  /** Records per batch (default 65536). */
  batchSize?: number;
  /** Stop after this many records (default: all). */
  maxRecords?: number;
}

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const COMMA = 44;
/** Record lines are short; a longer line that looks like a record is malformed. */
const MAX_LINE_BYTES = 4096;
/** Largest page number: (2^64 - 1) >> 12. */
const MAX_PAGE = 2 ** 52 - 1;

// Plain local copies: imported bindings can be getters under some loaders, too slow per record.
const K_FETCH = FETCH;
const K_READ = READ;

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
 * @example
 * const parser = new LackeyParser((pages, kinds, n) => console.log(n), { fileName: "ls.lackey" });
 * parser.push(Buffer.from("I  0400d7d4,8\n L 7ff0005b8,"));
 * parser.push(Buffer.from("8\n"));
 * parser.end(); // logs 2; parser.stats.records === 2
 */
export class LackeyParser {
  readonly stats: LackeyStats = { lines: 0, records: 0, skipped: 0, bytes: 0, fetches: 0, reads: 0, writes: 0 };
  readonly fileName: string;
  private readonly onBatch: LackeyBatchHandler;
  private readonly pages: Float64Array;
  private readonly kinds: Uint8Array;
  private readonly maxRecords: number;
  private count = 0;
  private carry = new Uint8Array(256);
  private carryLength = 0;
  /** Inside an over-long non-record line: drop bytes up to the next newline. */
  private skippingLongLine = false;
  private finished = false;

  constructor(onBatch: LackeyBatchHandler, options: LackeyParserOptions = {}) {
    this.onBatch = onBatch;
    this.fileName = options.fileName ?? "<trace>";
    const batchSize = options.batchSize ?? 65536;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new MemvirtError("batchSize must be a whole number >= 1", { where: "batchSize", value: batchSize });
    this.pages = new Float64Array(batchSize);
    this.kinds = new Uint8Array(batchSize);
    this.maxRecords = options.maxRecords ?? Infinity;
  }

  /** True once `maxRecords` records were parsed or `end()` was called: more input is ignored. */
  get done(): boolean {
    return this.finished;
  }

  /** Parse one chunk of text. */
  push(chunk: Uint8Array): void {
    if (this.finished) return;
    this.stats.bytes += chunk.length;
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

  /** Finish: parse a final line without newline and deliver the last batch. Returns the stats. */
  end(): LackeyStats {
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
    return this.stats;
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
      if (looksLikeRecord(text, 0, text.length)) this.fail("record line is too long", text, 0, text.length, this.stats.lines + 1);
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
    const stats = this.stats;
    let count = this.count;
    let lines = stats.lines;
    let records = stats.records;
    let fetches = stats.fetches;
    let reads = stats.reads;
    let writes = stats.writes;
    let skipped = stats.skipped;
    const maxRecords = this.maxRecords;
    while (pos < end) {
      const lineStart = pos;
      lines++;
      let c = buf[pos];
      while (c === SPACE || c === TAB) c = buf[++pos];
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
      let problem = "";
      if (hexEnd === hexStart) problem = isWordByte(c) ? "bad hex address" : "expected a hex address after the record kind";
      else if (c !== COMMA) problem = isWordByte(c) ? "bad hex address" : "expected ',SIZE' after the hex address";
      else {
        c = buf[++pos];
        const sizeStart = pos;
        while (c >= 48 && c <= 57) c = buf[++pos];
        if (pos === sizeStart) problem = "expected a decimal size after ','";
        else if (isWordByte(c)) problem = "bad size";
        else {
          while (c === SPACE || c === TAB || c === CR) c = buf[++pos];
          if (c !== NL) problem = "unexpected text after the size";
        }
      }
      let page = Math.floor(address / 4096);
      if (hexEnd - hexStart > 13 && problem === "") {
        // Wide address: rebuild the page from all digits but the last three, exactly.
        page = 0;
        for (let i = hexStart; i < hexEnd - 3; i++) page = page * 16 + HEX[buf[i]];
        if (page > MAX_PAGE) problem = "address is wider than 64 bits";
      }
      if (problem !== "") {
        stats.lines = lines;
        let lineEnd = pos;
        while (buf[lineEnd] !== NL) lineEnd++;
        this.fail(problem, buf, lineStart, lineEnd, lines);
      }
      pos++;
      pages[count] = page;
      kinds[count] = kind;
      if (kind === K_FETCH) fetches++;
      else if (kind === K_READ) reads++;
      else writes++;
      records++;
      if (++count === batchSize || records >= maxRecords) {
        this.count = count;
        stats.lines = lines;
        stats.records = records;
        stats.fetches = fetches;
        stats.reads = reads;
        stats.writes = writes;
        stats.skipped = skipped;
        this.flush();
        count = 0;
        if (records >= maxRecords) {
          this.finished = true;
          return;
        }
      }
    }
    this.count = count;
    stats.lines = lines;
    stats.records = records;
    stats.fetches = fetches;
    stats.reads = reads;
    stats.writes = writes;
    stats.skipped = skipped;
  }

  private fail(problem: string, buf: Uint8Array, start: number, end: number, line: number): never {
    let e = end;
    while (e > start && (buf[e - 1] === CR || buf[e - 1] === NL)) e--;
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, Math.min(e - start, 200)).toString("latin1");
    throw new MemvirtError(`malformed Lackey record: ${problem}`, { where: `${this.fileName}:${line}`, value: text });
  }
}

function isWordByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function looksLikeRecord(buf: Uint8Array, pos: number, end: number): boolean {
  while (pos < end && (buf[pos] === SPACE || buf[pos] === TAB)) pos++;
  return pos + 1 < end && KIND[buf[pos]] >= 0 && (buf[pos + 1] === SPACE || buf[pos + 1] === TAB);
}
