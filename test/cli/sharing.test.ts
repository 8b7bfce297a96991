import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeSnapshot } from "../../src/contents/snapshot-file";
import { snapshotOf, type TestPage } from "../contents/helpers";
import { removeTempDirs, runCli, tempDir } from "./run-cli";

afterAll(removeTempDirs);

const anon = (...contents: number[]): TestPage[] => contents.map((content) => ({ content, kind: "anon" }));
const file = (...contents: number[]): TestPage[] => contents.map((content) => ({ content, kind: "file" }));

/** A: anon 1 1 1 2 0 0 3, file 4 4 (gzip).  B: file 4 5, anon 1 0 6 6 6 (plain).  0 is the zero page. */
async function knownSnapshots(dir: string): Promise<[string, string]> {
  const a = path.join(dir, "a.mvpages.gz");
  const b = path.join(dir, "b.mvpages");
  await writeSnapshot(a, snapshotOf("a", [...anon(1, 1, 1, 2, 0, 0, 3), ...file(4, 4)]));
  await writeSnapshot(b, snapshotOf("b", [...file(4, 5), ...anon(1, 0, 6, 6, 6)]));
  return [a, b];
}

describe("memvirt sharing", () => {
  it("prints the documented JSON with exact figures for snapshots with known duplicates", async () => {
    const [a, b] = await knownSnapshots(tempDir("memvirt-sharing-"));
    const r = runCli(["sharing", a, b, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.snapshots.map((s: Record<string, unknown>) => ({ file: s.file, pages: s.pages, zeroPages: s.zeroPages, savablePages: s.savablePages }))).toEqual([
      { file: a, pages: 9, zeroPages: 2, savablePages: 4 },
      { file: b, pages: 7, zeroPages: 1, savablePages: 2 },
    ]);
    expect(data.overall).toMatchObject({ pages: 16, zeroPages: 3, savablePages: 9, withinPages: 6, acrossPages: 3, distinctContents: 7, nonZeroSavablePages: 7 });
    expect(Object.keys(data.overall).slice(0, 5)).toEqual(["pages", "zeroPages", "savablePages", "withinPages", "acrossPages"]);
    expect(data.overall.byKind).toEqual([
      { kind: "anon", pages: 12, zeroPages: 3, savablePages: 7, nonZeroSavablePages: 5, withinPages: 5, acrossPages: 2 },
      { kind: "file", pages: 4, zeroPages: 0, savablePages: 2, nonZeroSavablePages: 2, withinPages: 1, acrossPages: 1 },
    ]);
    expect(data.contentsComparedBy).toBe("hash");
  });

  it("explains the figures in text: a table per snapshot and overall, by kind, without zero pages, within vs across", async () => {
    const [a, b] = await knownSnapshots(tempDir("memvirt-sharing-"));
    const r = runCli(["sharing", a, b]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("2 snapshots of 4096-byte pages; contents counted by their 64-bit xxh64 hash (zero pages by their bytes)");
    expect(lines.find((l) => l.startsWith("overall "))!.split(/\s+/)).toEqual(["overall", "16", "3", "9", "56.3%", "7", "43.8%", "6", "3"]);
    expect(lines.find((l) => l.startsWith("file "))!.split(/\s+/)).toEqual(["file", "4", "0", "2", "50.0%", "2", "50.0%", "1", "1"]);
    expect(r.stdout).toContain("Perfect sharing would free 9 of 16 pages (56.3%); without zero pages 7 (43.8%; Barker et al. found usually under 15%).");
    expect(r.stdout).toContain("Of the saving, 66.7% lies within one snapshot and 33.3% across snapshots (Barker et al.: over 90% within one machine).");
  });

  it("compares bytes when every snapshot kept them, and says so", async () => {
    const dir = tempDir("memvirt-sharing-");
    const a = path.join(dir, "a.mvpages");
    await writeSnapshot(a, snapshotOf("a", [1, 1, 0], { keepBytes: true }));
    const r = runCli(["sharing", a]);
    expect(r.stdout.split("\n")[0]).toBe("1 snapshot of 4096-byte pages; contents compared byte for byte (equal xxh64 hashes confirmed; 0 hash collisions kept apart)");
    expect(JSON.parse(runCli(["sharing", a, "--json"]).stdout).contentsComparedBy).toBe("bytes");
  });

  it("warns when a file is given twice (its pages then all count as shared across)", async () => {
    const [a] = await knownSnapshots(tempDir("memvirt-sharing-"));
    const r = runCli(["sharing", a, a, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`memvirt: warning: ${a} is ${a} again: each of its pages counts as shared across snapshots\n`);
    expect(JSON.parse(r.stdout).overall.acrossPages).toBe(5);
  });

  it("refuses what is not a snapshot with one line naming the file, exit 2", async () => {
    const dir = tempDir("memvirt-sharing-");
    const [a] = await knownSnapshots(dir);
    const notes = path.join(dir, "notes.txt");
    fs.writeFileSync(notes, "hello world\n");
    const cut = path.join(dir, "cut.mvpages");
    const raw = fs.readFileSync(path.join(dir, "b.mvpages"));
    fs.writeFileSync(cut, raw.subarray(0, raw.length - 10));
    const cases: Array<[string[], string]> = [
      [[a, notes], `memvirt: error: ${notes}: not a memvirt page snapshot (it starts "hello wo", not "MVPAGES")\n`],
      [[path.join(dir, "missing")], `memvirt: error: ${path.join(dir, "missing")}: cannot read: no such file or directory (ENOENT)\n`],
      [[cut], `memvirt: error: ${cut}: truncated: the header promises ${raw.length} bytes (7 pages, 2 regions), the file has ${raw.length - 10}\n`],
    ];
    for (const [files, stderr] of cases) {
      const r = runCli(["sharing", ...files]);
      expect(r.stderr).toBe(stderr);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    }
    const none = runCli(["sharing"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("memvirt: error: missing required argument 'files'\n");
  });

  it("refuses snapshots of different page sizes, naming the odd one", async () => {
    const dir = tempDir("memvirt-sharing-");
    const [a] = await knownSnapshots(dir);
    const big = path.join(dir, "big.mvpages");
    await writeSnapshot(big, snapshotOf("big", [1], { pageSizeBytes: 16384 }));
    const r = runCli(["sharing", a, big]);
    expect(r.stderr).toBe(`memvirt: error: ${big}: page size 16384 differs from the 4096 of ${a}; pages of different sizes never share\n`);
    expect(r.code).toBe(2);
  });

  it("has --help", () => {
    const r = runCli(["sharing", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: memvirt sharing [options] <files...>");
    expect(r.stdout).toContain("--json");
  });
});
