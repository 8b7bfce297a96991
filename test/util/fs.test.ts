import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sameFile, sameFileAsFd, writeFileAtomic } from "../../src/util/fs";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-fs-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("sameFile", () => {
  it("sees one file through a symlink, a hard link and a roundabout path, and two files as two", () => {
    const a = path.join(dir, "exp.json");
    const b = path.join(dir, "other.json");
    fs.writeFileSync(a, "{}");
    fs.writeFileSync(b, "{}");
    fs.symlinkSync("exp.json", path.join(dir, "link.json"));
    fs.linkSync(a, path.join(dir, "hard.json"));
    expect(sameFile(a, path.join(dir, "link.json"))).toBe(true);
    expect(sameFile(path.join(dir, "hard.json"), a)).toBe(true);
    expect(sameFile(a, path.join(dir, "..", path.basename(dir), "exp.json"))).toBe(true);
    expect(sameFile(a, b)).toBe(false);
    expect(sameFile(a, path.join(dir, "missing.json"))).toBe(false);
  });

  it("recognises the file open on a descriptor", () => {
    const a = path.join(dir, "trace.lackey");
    fs.writeFileSync(a, "I 0,4\n");
    const fd = fs.openSync(a, "r");
    try {
      expect(sameFileAsFd(a, fd)).toBe(true);
      expect(sameFileAsFd(path.join(dir, "exp.json"), fd)).toBe(false);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe("writeFileAtomic", () => {
  it("replaces a file with the whole text and leaves no temp file", () => {
    const file = path.join(dir, "w.csv");
    fs.writeFileSync(file, "old");
    writeFileAtomic(file, "new\n");
    expect(fs.readFileSync(file, "utf8")).toBe("new\n");
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
