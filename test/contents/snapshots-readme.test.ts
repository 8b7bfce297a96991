import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readSnapshot } from "../../src/contents/snapshot-file";
import { computeSharing } from "../../src/contents/sharing-report";

const dir = join(__dirname, "..", "..", "data", "snapshots");
const num = (text: string) => Number(text.replace(/,/g, ""));
const text = readFileSync(join(dir, "README.md"), "utf8");

describe("data/snapshots/README.md", () => {
  it("lists every snapshot with the pages, zero pages, mappings and size the files have", () => {
    const rows = [...text.matchAll(/^\| `([^`]+\.mvpages\.gz)` \| .* \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual(readdirSync(dir).filter((f) => f.endsWith(".mvpages.gz")).sort());
    let total = 0;
    for (const [, file, pages, zero, mappings, bytes] of rows) {
      const snap = readSnapshot(join(dir, file));
      expect({ file, pages: num(pages), zero: num(zero), mappings: num(mappings), bytes: num(bytes) }).toEqual({
        file, pages: snap.pageCount, zero: snap.zeroPages, mappings: snap.regions.length, bytes: statSync(join(dir, file)).size,
      });
      expect(snap.bytes, "hashes only").toBeUndefined();
      expect(snap.info.counts).toEqual({ swappedPages: 0, unreadablePages: 0 });
      expect(snap.info.source.kind).toBe("process");
      total += statSync(join(dir, file)).size;
    }
    expect(text).toContain(`so the five files take ${total.toLocaleString("en-US")} bytes together`);
    expect(total).toBeLessThan(1 << 20);
  });

  it("quotes the sharing figures memvirt computes from them", () => {
    const flat = text.replace(/\s+/g, " ");
    const python = computeSharing([1, 2, 3].map((i) => readSnapshot(join(dir, `python-${i}.mvpages.gz`)))).overall;
    const m = /Three Python processes\*\*: ([\d,]+) pages, ([\d,]+) distinct contents, so perfect sharing would free ([\d,]+) pages \(([\d.]+)%\); without zero pages ([\d,]+) \(([\d.]+)%\)\. Only ([\d,]+) of the [\d,]+ lie within one process \(mostly its zero pages\); ([\d,]+) are across processes\./.exec(flat);
    expect(m, "the Python sentence").not.toBeNull();
    const pct = (x: number) => ((100 * x) / python.pages).toFixed(1);
    expect(m!.slice(1)).toEqual([python.pages, python.distinctContents, python.savablePages, pct(python.savablePages), python.nonZeroSavablePages, pct(python.nonZeroSavablePages), python.withinPages, python.acrossPages].map((x) => (typeof x === "number" ? x.toLocaleString("en-US") : x)));
    const other = computeSharing(["sleep", "bash"].map((f) => readSnapshot(join(dir, `${f}.mvpages.gz`)))).overall;
    const o = /\*\*`sleep` and `bash`\*\*, two different programs: ([\d,]+) pages, ([\d,]+) savable, ([\d,]+) of them across/.exec(flat);
    expect(o!.slice(1).map(num)).toEqual([other.pages, other.savablePages, other.acrossPages]);
  });
});
