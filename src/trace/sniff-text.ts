/**
 * Telling a text trace from bytes that are not one, by looking at the first bytes only.
 *
 * A Lackey trace is ASCII text. Without this check a binary file, a UTF-16 export or a gzip
 * inside gzip parses as N skipped lines and 0 records, which looks like an empty trace. The check
 * looks at a fixed window (`SNIFF_BYTES`), so it costs nothing per record.
 */

/** Bytes looked at: far more than valgrind's banner (about 400 bytes) before the first record. */
export const SNIFF_BYTES = 4096;

/**
 * Length of a UTF-8 byte-order mark at the start of `head` (3), or 0. Editors on Windows add
 * one; left in place it turns the first line into a non-record and drops the first record.
 *
 * @example
 * utf8BomLength(Buffer.from("\ufeffI  0400,4")) // 3
 */
export function utf8BomLength(head: Uint8Array): number {
  return head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
}

/**
 * Why the first bytes of an input are not text, or undefined when they are text: a UTF-16
 * byte-order mark or UTF-16 layout, a NUL byte, or bytes that are not UTF-8. A multi-byte
 * character cut by the end of `head` counts as text (the window may end inside it).
 *
 * @example
 * binaryProblem(Buffer.from([0x4c, 0x00, 0x20])) // "binary data (a NUL byte at offset 1)"
 * binaryProblem(Buffer.from("I  0400,4\n"))     // undefined
 */
export function binaryProblem(head: Uint8Array): string | undefined {
  const n = head.length;
  if (n >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return `UTF-16 text (byte-order mark ${hex(head[0])} ${hex(head[1])}), but Lackey traces are ASCII: convert it with iconv -f UTF-16 -t UTF-8`;
  }
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (c === 0) {
      if (looksLikeUtf16(head)) return "UTF-16 text (every other byte is NUL), but Lackey traces are ASCII: convert it with iconv -f UTF-16 -t UTF-8";
      return `binary data (a NUL byte at offset ${i}); a trace is Lackey text, plain or gzip`;
    }
    if (c < 0x80) continue;
    const length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let ok = length > 0;
    for (let k = 1; ok && k < length && i + k < n; k++) ok = (head[i + k] & 0xc0) === 0x80;
    if (!ok) return `binary data (byte ${hex(c)} at offset ${i} is not UTF-8 text); a trace is Lackey text, plain or gzip`;
    i += length - 1;
  }
  return undefined;
}

/** NUL in every odd (or every even) position of the first 64 bytes, text in the others. */
function looksLikeUtf16(head: Uint8Array): boolean {
  const n = Math.min(head.length, 64) & ~1;
  if (n < 4) return false;
  for (const zeroAt of [0, 1]) {
    let ok = true;
    for (let i = 0; ok && i < n; i += 2) ok = head[i + zeroAt] === 0 && head[i + 1 - zeroAt] !== 0;
    if (ok) return true;
  }
  return false;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
