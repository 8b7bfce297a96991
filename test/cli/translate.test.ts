import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { runCli } from "./run-cli";

function lackey(records: number): string {
  const lines = ["==1== Lackey banner"];
  for (let i = 0; i < records; i++) lines.push(`${i % 2 ? " L" : "I "} ${(0x400000 + ((i * 4099) % 600) * 4096).toString(16)},4`);
  return `${lines.join("\n")}\n`;
}

describe("memvirt translate", () => {
  it("streams a trace from stdin and reports totals with the documented JSON names", () => {
    const r = runCli(["translate", "--trace", "-", "--mode", "shadow", "--json"], lackey(5000));
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ trace: "-", mode: "shadow", accesses: 5000 });
    for (const name of ["accesses", "tlbMisses", "memoryReferences", "traps", "cycles"]) expect(typeof data[name]).toBe("number");
    expect(data.traps).toBe(data.trapsByKind.total);
    expect(data.traps).toBeGreaterThan(0);
  });

  it("reads gzip files, writes the interval table, and prints the explanation", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-translate-"));
    const file = path.join(dir, "t.lackey.gz");
    fs.writeFileSync(file, gzipSync(lackey(3000)));
    const out = path.join(dir, "intervals.csv");
    const r = runCli(["translate", "--trace", file, "--mode", "nested", "--pwc", "uptc", "--nested-tlb", "--interval", "1000", "--out", out, "--cost", "memoryReferenceCycles=100"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Settings: nested paging/);
    expect(r.stdout).toMatch(/Summary: nested paging costs/);
    const csv = fs.readFileSync(out, "utf8").trim().split("\n");
    expect(csv[0]).toMatch(/^mode,interval,accessesEnd,accesses,tlbMisses/);
    expect(csv).toHaveLength(4);
  });

  it("rejects a malformed record with FILE:LINE and the text, and a missing --trace", () => {
    const bad = runCli(["translate", "--trace", "-"], "I  0400d7d4,8\n S 0x,4\n");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^memvirt: error: <stdin>:2: .*S 0x,4/);
    const none = runCli(["translate", "--mode", "nested"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--trace: a trace is required/);
    const cost = runCli(["translate", "--trace", "-", "--cost", "trapCycle=5"], "I  0400d7d4,8\n");
    expect(cost.stderr).toMatch(/--cost\.trapCycle: unknown cost/);
  });

  it("works at the end of a valgrind pipe", () => {
    const hasValgrind = spawnSync("sh", ["-c", "command -v valgrind"]).status === 0;
    if (!hasValgrind) return;
    const main = path.resolve(__dirname, "..", "..", "src", "cli", "main.ts");
    const r = spawnSync("bash", ["-c", `valgrind --tool=lackey --trace-mem=yes --log-fd=9 /bin/true 9>&1 >/dev/null | "${process.execPath}" --import tsx "${main}" translate --trace - --mode nested --json`], { encoding: "utf8", timeout: 60_000, cwd: path.resolve(__dirname, "..", "..") });
    expect(r.status).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.accesses).toBeGreaterThan(10_000);
    expect(data.tlbMisses).toBeGreaterThan(0);
  });
});
