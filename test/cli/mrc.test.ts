import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { removeTempDirs, runCli, tempDir as makeTempDir } from "./run-cli";
import { missRatioCurve } from "../../src/analysis/miss-ratio-curve";
import { defaultMrcSizes } from "../../src/analysis/mrc-sizes";
import { parseLackeyBuffer } from "../../src/trace/load-lackey";

const tempDir = () => makeTempDir("memvirt-mrc-");
afterAll(removeTempDirs);

/** A Lackey trace of `records` records over `pages` pages (a banner line first). */
function lackey(records: number, pages = 150): string {
  const lines = ["==1== Lackey banner"];
  for (let i = 0; i < records; i++) {
    const page = (i * 7919 + (i % 13) * 31) % pages;
    lines.push(`${i % 3 ? " L" : "I "} ${(0x400000 + page * 4096 + (i % 1000)).toString(16)},4`);
  }
  return `${lines.join("\n")}\n`;
}

type Row = { sizePages: number; missRatio: number };

describe("memvirt mrc", () => {
  it("prints the exact curve from stdin as JSON rows, at the default sizes up to the footprint", () => {
    const text = lackey(6000);
    const r = runCli(["mrc", "--trace", "-", "--json"], text);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((row) => Object.keys(row))).toEqual(rows.map(() => ["sizePages", "missRatio"]));
    expect(rows.map((row) => row.sizePages)).toEqual(defaultMrcSizes(150));
    // The same numbers as the library on the same trace.
    const want = missRatioCurve(parseLackeyBuffer(text), { method: "exact", sizes: defaultMrcSizes(150) }).objects();
    expect(rows).toEqual(want);
    expect(rows.at(-1)!.missRatio).toBe(150 / 6000);
  });

  it("reads a gzip file and prints a short table and a summary line (footprint, accesses, cold misses)", () => {
    const dir = tempDir();
    const file = path.join(dir, "t.lackey.gz");
    fs.writeFileSync(file, gzipSync(lackey(6000)));
    const r = runCli(["mrc", "--trace", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`Exact LRU miss-ratio curve of ${file} (4 KiB pages):`);
    expect(lines[1]).toMatch(/size \(pages\)\s+size\s+miss ratio/);
    // Powers of two and the footprint: 1, 2, 4, ..., 128, then 150.
    const sizes = lines.slice(2, -2).map((l) => Number(l.trim().split(/\s+/)[0].replace(/,/g, "")));
    expect(sizes).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 150]);
    expect(lines.at(-3)).toMatch(/^\s+150\s+600 KiB\s+0\.0250$/);
    expect(lines.at(-2)).toMatch(/--json gives all \d+ sizes/);
    expect(lines.at(-1)).toBe("Footprint 150 pages (600 KiB); 6,000 accesses from 6,000 records; cold misses 150 (2.50% of accesses).");
  });

  it("estimates with SHARDS at a fixed rate or a fixed size; at rate 1 it is the exact curve", () => {
    const text = lackey(20_000, 3000);
    const sizes = "1,10,100,1000,3000";
    const exact = JSON.parse(runCli(["mrc", "--trace", "-", "--sizes", sizes, "--json"], text).stdout) as Row[];
    const all = runCli(["mrc", "--trace", "-", "--method", "shards", "--rate", "1", "--sizes", sizes, "--json"], text);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual(exact);
    const fixed = runCli(["mrc", "--trace", "-", "--method", "shards", "--max-samples", "200"], text);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(/^SHARDS estimate of the LRU miss-ratio curve of - \(4 KiB pages; fixed size: at most 200 pages tracked, rate now 0\.0\d+; [\d,]+ of 20,000 accesses sampled\):/);
    expect(fixed.stdout).toMatch(/Footprint ≈ [\d,]+ pages/);
    const low = runCli(["mrc", "--trace", "-", "--method", "shards", "--rate", "0.25", "--sizes", sizes, "--json"], text);
    const estimate = JSON.parse(low.stdout) as Row[];
    expect(estimate.map((row) => row.sizePages)).toEqual([1, 10, 100, 1000, 3000]);
    expect(estimate.at(-1)!.missRatio).toBeLessThan(0.25);
  });

  it("counts pages of --page-size bytes, and takes --sizes as pages or sizes with a unit", () => {
    // Pages 0..1023 of 4 KiB are 2 MiB page 0; 512..1023 are page 1: a loop over 3 MiB is 2 large pages.
    const lines: string[] = [];
    for (let round = 0; round < 10; round++) for (let p = 0; p < 768; p++) lines.push(` L ${(p * 4096).toString(16)},4`);
    const text = `${lines.join("\n")}\n`;
    const r = runCli(["mrc", "--trace", "-", "--page-size", "2MiB", "--sizes", "1,2,4MiB", "--json"], text);
    expect(r.stderr).toBe("");
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((row) => row.sizePages)).toEqual([1, 2, 2]);
    // One 2 MiB page holds the loop's first 512 pages, the other the rest: 2 misses a round with one page.
    expect(rows[0].missRatio).toBeCloseTo(20 / 7680, 12);
    expect(rows[1].missRatio).toBe(2 / 7680);
    expect(JSON.parse(runCli(["mrc", "--trace", "-", "--page-size", "2097152", "--sizes", "2", "--json"], text).stdout)).toEqual([rows[1]]);
  });

  it("rejects a malformed record with FILE:LINE and the text, and input that is not a trace", () => {
    const dir = tempDir();
    const file = path.join(dir, "bad.lackey");
    fs.writeFileSync(file, "==1== banner\nI  0400d7d4,8\n L 04zz,4\n");
    const bad = runCli(["mrc", "--trace", file, "--json"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe(`memvirt: error: ${file}:3: malformed Lackey record: bad hex address (got " L 04zz,4")\n`);
    const stdin = runCli(["mrc", "--trace", "-", "--method", "shards"], "I  0400d7d4,8\n S 0400d7d4,0\n");
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/^memvirt: error: <stdin>:2: malformed Lackey record: size 0/);
    const binary = path.join(dir, "a.out");
    fs.writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1]));
    const notTrace = runCli(["mrc", "--trace", binary]);
    expect(notTrace.code).toBe(2);
    expect(notTrace.stderr).toMatch(new RegExp(`^memvirt: error: ${binary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a Lackey trace`));
    expect(notTrace.stderr.trim().split("\n")).toHaveLength(1);
  });

  /** Each command line fails with exit code 2 and one line on stderr matching its message. */
  function expectRejected(cases: Array<[string[], RegExp]>): void {
    const text = lackey(100);
    for (const [args, message] of cases) {
      const r = runCli(["mrc", ...args], text);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  }

  it("rejects bad --trace, --method and the SHARDS flags in one line naming the flag, exit code 2", () => {
    expectRejected([
      [["--method", "exact"], /^memvirt: error: --trace: a trace is required/],
      [["--trace", "-", "--method", "lru"], /^memvirt: error: --method: expected one of exact, shards \(got "lru"\)/],
      [["--trace", "-", "--rate", "0.1"], /^memvirt: error: --rate: applies only to --method shards/],
      [["--trace", "-", "--max-samples", "9"], /^memvirt: error: --max-samples: applies only to --method shards/],
      [["--trace", "-", "--method", "shards", "--rate", "0"], /^memvirt: error: --rate: must be a sampling rate in \(0, 1\], e\.g\. 0\.01 \(got 0\)/],
      [["--trace", "-", "--method", "shards", "--rate", "1.5"], /^memvirt: error: --rate: must be a sampling rate in \(0, 1\]/],
      [["--trace", "-", "--method", "shards", "--rate", "half"], /^memvirt: error: --rate: must be a sampling rate in \(0, 1\], e\.g\. 0\.01 \(got "half"\)/],
      [["--trace", "-", "--method", "shards", "--max-samples", "0"], /^memvirt: error: --max-samples: must be a whole number of pages from 1/],
    ]);
  });

  it("rejects bad --sizes and --page-size in one line naming the flag, exit code 2", () => {
    expectRejected([
      [["--trace", "-", "--sizes", "64,0"], /^memvirt: error: --sizes: "0" is not a cache size/],
      [["--trace", "-", "--sizes", "64,,128"], /^memvirt: error: --sizes: "" is not a cache size/],
      [["--trace", "-", "--sizes", "1.5"], /^memvirt: error: --sizes: "1.5" is not a cache size/],
      [["--trace", "-", "--sizes", "6KiB"], /^memvirt: error: --sizes: "6KiB" is not a cache size: give pages \(64\) or a whole number of 4 KiB pages/],
      [["--trace", "-", "--page-size", "1024"], /^memvirt: error: --page-size: must be a power of two from 4096 bytes/],
      [["--trace", "-", "--page-size", "3MiB"], /^memvirt: error: --page-size: must be a power of two/],
    ]);
  });

  it("rejects a repeated flag, and a rate that samples nothing, in one line naming the flag, exit code 2", () => {
    expectRejected([
      [["--trace", "-", "--method", "shards", "--rate", "0.1", "--rate", "0.2"], /^memvirt: error: --rate: given 2 times; give it once/],
      [["--trace", "-", "--method", "shards", "--rate", "0.00001"], /^memvirt: error: --rate: sampled none of the 100 accesses; raise the rate or use the exact method \(got 0\.00001\d*\)/],
    ]);
  });

  it("shows a progress bar on stderr for a file when asked, and documents itself in --help", () => {
    const dir = tempDir();
    const file = path.join(dir, "t.lackey");
    fs.writeFileSync(file, lackey(3000));
    const before = process.env.MEMVIRT_PROGRESS;
    process.env.MEMVIRT_PROGRESS = "1";
    try {
      const r = runCli(["mrc", "--trace", file, "--json"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/mrc .*t\.lackey \[.*\] 100%/);
      expect(JSON.parse(r.stdout)).toHaveLength(defaultMrcSizes(150).length);
    } finally {
      if (before === undefined) delete process.env.MEMVIRT_PROGRESS;
      else process.env.MEMVIRT_PROGRESS = before;
    }
    const help = runCli(["mrc", "--help"]);
    expect(help.code).toBe(0);
    for (const flag of ["--trace", "--method", "--rate", "--max-samples", "--sizes", "--page-size", "--json"]) expect(help.stdout).toContain(flag);
  });
});
