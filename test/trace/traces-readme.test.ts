import { describe, expect, it } from "vitest";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readLackey } from "../../src";

const dir = join(__dirname, "..", "..", "data", "traces");

/** "3,296,710" → 3296710 */
const num = (text: string) => Number(text.replace(/,/g, ""));

describe("data/traces/README.md", () => {
  it("states the counts the parser gives for sort.lackey.gz, and they add up", async () => {
    const text = readFileSync(join(dir, "README.md"), "utf8").replace(/\s+/g, " ");
    const kinds = /([\d,]+) records \(([\d,]+) `I`, ([\d,]+) `L`, ([\d,]+) `S`, ([\d,]+) `M`\) in ([\d,]+) lines, the other ([\d,]+) being/.exec(text);
    const crossing = /([\d,]+) records \(([\d,]+) `I`, ([\d,]+) `L`, ([\d,]+) `S`\) cross a page boundary, so the trace is ([\d,]+) page accesses/.exec(text);
    const sizes = /compressed \(([\d,]+) bytes\), .* as text \(([\d,]+) bytes\)/.exec(text);
    expect(kinds, "the per-kind sentence").not.toBeNull();
    expect(crossing, "the page-crossing sentence").not.toBeNull();
    expect(sizes, "the sizes sentence").not.toBeNull();
    const [records, i, l, s, m, lines, skipped] = kinds!.slice(1).map(num);
    const [multi, multiI, multiL, multiS, accesses] = crossing!.slice(1).map(num);
    // The text agrees with itself ...
    expect(i + l + s + m).toBe(records);
    expect(records + skipped).toBe(lines);
    expect(multiI + multiL + multiS).toBe(multi);
    // ... and with the parser.
    const stats = await readLackey(join(dir, "sort.lackey.gz"), { onBatch: () => {} });
    expect({ records, i, l, s, m, lines, skipped, multi, accesses }).toEqual({
      records: stats.records,
      i: stats.fetches,
      l: stats.reads,
      s: stats.writes - stats.modifies,
      m: stats.modifies,
      lines: stats.lines,
      skipped: stats.skipped,
      multi: stats.multiPageRecords,
      accesses: stats.accesses,
    });
    expect(num(sizes![1])).toBe(statSync(join(dir, "sort.lackey.gz")).size);
    expect(num(sizes![2])).toBe(stats.bytes);
  }, 30_000);
});
