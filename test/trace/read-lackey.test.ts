import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { spawnSync } from "node:child_process";
import { loadLackeyTrace, loadLackeyTraceSync, parseLackeyBuffer, readLackey } from "../../src";

const dir = mkdtempSync(join(tmpdir(), "memvirt-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const text = ["==1== Lackey", ...Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? `I  ${(0x400000 + i * 64).toString(16)},4` : ` L ${(0x7ff000000 + i * 512).toString(16)},8`))].join("\n") + "\n";
const plain = join(dir, "t.lackey");
const gz = join(dir, "t.lackey.gz");
writeFileSync(plain, text);
writeFileSync(gz, gzipSync(Buffer.from(text)));
const expected = parseLackeyBuffer(text, "x");

describe("readLackey", () => {
  it("streams a file in batches with the same records as a whole-buffer parse", async () => {
    const pages: number[] = [];
    const stats = await readLackey(plain, { batchSize: 333, onBatch: (p, _k, n) => { for (let i = 0; i < n; i++) pages.push(p[i]); } });
    expect(pages).toEqual(Array.from(expected.pages));
    expect(stats).toEqual(expected.stats);
  });

  it("reads gzip input, detected from its first bytes, from a file or a stream", async () => {
    const a = await loadLackeyTrace(gz);
    expect(Array.from(a.pages)).toEqual(Array.from(expected.pages));
    expect(Array.from(a.kinds)).toEqual(Array.from(expected.kinds));
    const compressed = gzipSync(Buffer.from(text));
    const chunks = [compressed.subarray(0, 1), compressed.subarray(1, 50), compressed.subarray(50)];
    const b = await loadLackeyTrace(Readable.from(chunks));
    expect(Array.from(b.pages)).toEqual(Array.from(expected.pages));
    expect(loadLackeyTraceSync(gz).stats).toEqual(expected.stats);
  });

  it("reports progress in source bytes against the file size", async () => {
    const seen: Array<[number, number]> = [];
    await readLackey(plain, { onBatch: () => {}, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen.at(-1)).toEqual([text.length, text.length]);
  });

  it("names the file in errors: missing file, malformed record, broken gzip", async () => {
    await expect(readLackey(join(dir, "none.lackey"), { onBatch: () => {} })).rejects.toThrow(/none\.lackey: trace file not found$/);
    const bad = join(dir, "bad.lackey");
    writeFileSync(bad, "I  0400,4\n L nothex,4\n");
    await expect(readLackey(bad, { onBatch: () => {} })).rejects.toThrow(`${bad}:2: malformed Lackey record: bad hex address (got " L nothex,4")`);
    const broken = join(dir, "broken.lackey.gz");
    writeFileSync(broken, gzipSync(Buffer.from(text)).subarray(0, 200));
    await expect(readLackey(broken, { onBatch: () => {} })).rejects.toThrow(/broken\.lackey\.gz: /);
    const stream = Readable.from([Buffer.from(" S zz,1\n")]);
    await expect(readLackey(stream, { onBatch: () => {}, fileName: "pipe" })).rejects.toThrow("pipe:1: malformed Lackey record");
  });

  it("stops reading at maxRecords", async () => {
    const t = await loadLackeyTrace(gz, { maxRecords: 10 });
    expect(t.pages.length).toBe(10);
    expect(Array.from(t.pages)).toEqual(Array.from(expected.pages.subarray(0, 10)));
  });

  it("reads '-' from stdin, plain or gzip, and names <stdin> in errors", () => {
    const tsx = join(__dirname, "..", "..", "node_modules", ".bin", "tsx");
    const script = join(__dirname, "fixtures", "read-stdin.ts");
    const sum = Array.from(expected.pages).reduce((a, b) => a + b, 0);
    for (const input of [Buffer.from(text), gzipSync(Buffer.from(text))]) {
      const r = spawnSync(tsx, [script], { input, encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ ...expected.stats, sum });
    }
    const bad = spawnSync(tsx, [script], { input: "I  0400,4\n\n L 12,\n", encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`<stdin>:3: malformed Lackey record: expected a decimal size after ',' (got " L 12,")`);
  }, 20_000);
});
