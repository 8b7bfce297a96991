import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { cliArgv, removeTempDirs, runCli, startCli, tempDir as makeTempDir } from "./run-cli";

const tempDir = () => makeTempDir("memvirt-translate-");
afterAll(removeTempDirs);

function lackey(records: number): string {
  const lines = ["==1== Lackey banner"];
  for (let i = 0; i < records; i++) lines.push(`${i % 2 ? " L" : "I "} ${(0x400000 + ((i * 4099) % 600) * 4096).toString(16)},4`);
  return `${lines.join("\n")}\n`;
}

const hasValgrind = spawnSync("sh", ["-c", "command -v valgrind"]).status === 0;

describe("memvirt translate", () => {
  it("streams a trace from stdin and reports totals with the documented JSON names", () => {
    const r = runCli(["translate", "--trace", "-", "--mode", "shadow", "--json"], lackey(5000));
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ trace: "-", mode: "shadow", accesses: 5000, warnings: [] });
    for (const name of ["accesses", "tlbMisses", "memoryReferences", "traps", "cycles"]) expect(typeof data[name]).toBe("number");
    expect(data.traps).toBe(data.trapsByKind.total);
    expect(data.traps).toBeGreaterThan(0);
  });

  it("reads gzip files, writes the interval table, and prints the explanation", () => {
    const dir = tempDir();
    const file = path.join(dir, "t.lackey.gz");
    fs.writeFileSync(file, gzipSync(lackey(3000)));
    const out = path.join(dir, "intervals.csv");
    const r = runCli(["translate", "--trace", file, "--mode", "nested", "--pwc", "uptc", "--nested-tlb", "--interval", "1000", "--out", out, "--cost", "memoryReferenceCycles=100"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Settings: nested paging/);
    expect(r.stdout).toMatch(/Summary: nested paging costs/);
    const csv = fs.readFileSync(out, "utf8").trim().split("\n");
    expect(csv[0]).toMatch(/^mode,interval,accessesEnd,accesses,tlbMisses/);
    expect(csv).toHaveLength(4);
    expect(fs.readdirSync(dir).sort()).toEqual(["intervals.csv", "t.lackey.gz"]);
  });

  it("streams one row per interval to --out, as CSV or JSON, however many there are", () => {
    const dir = tempDir();
    const csv = path.join(dir, "i.csv");
    const r = runCli(["translate", "--trace", "-", "--mode", "native", "--interval", "1", "--out", csv], lackey(20_000));
    expect(r.code).toBe(0);
    const lines = fs.readFileSync(csv, "utf8").trim().split("\n");
    expect(lines).toHaveLength(1 + 20_000);
    expect(lines.at(-1)).toMatch(/^native,19999,20000,1,/);
    const json = path.join(dir, "i.json");
    expect(runCli(["translate", "--trace", "-", "--mode", "native", "--interval", "700", "--out", json], lackey(2000)).code).toBe(0);
    const rows = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(rows.map((row: { accessesEnd: number }) => row.accessesEnd)).toEqual([700, 1400, 2000]);
    expect(Object.keys(rows[0])).toEqual(lines[0].split(","));
  });

  it("never writes the table over its own trace: same path, a symlink, a hard link, or the file on stdin", () => {
    const dir = tempDir();
    const trace = path.join(dir, "t.csv");
    const text = lackey(100);
    fs.writeFileSync(trace, text);
    fs.symlinkSync("t.csv", path.join(dir, "link.csv"));
    fs.linkSync(trace, path.join(dir, "hard.json"));
    for (const out of [trace, path.join(dir, "link.csv"), path.join(dir, "hard.json")]) {
      const r = runCli(["translate", "--trace", trace, "--out", out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`memvirt: error: --out: is the trace itself; the results would overwrite it (got ${JSON.stringify(out)})\n`);
    }
    const viaLink = runCli(["translate", "--trace", path.join(dir, "link.csv"), "--out", trace]);
    expect(viaLink.stderr).toMatch(/--out: is the trace itself/);
    const fd = fs.openSync(trace, "r");
    try {
      const stdin = runCli(["translate", "--trace", "-", "--out", trace], undefined, undefined, { stdinFd: fd });
      expect(stdin.code).toBe(2);
      expect(stdin.stderr).toMatch(/--out: is the file on stdin \(the trace\) itself/);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(trace, "utf8")).toBe(text);
  });

  it("checks --out before reading the trace: extension, folder, not a directory", () => {
    const dir = tempDir();
    // A trace malformed on line 2: had the run started, the error would name the trace.
    const bad = "I  0400d7d4,8\n S 0x,4\n";
    const cases: Array<[string, RegExp]> = [
      [path.join(dir, "t.txt"), /--out: must end in \.csv or \.json/],
      [path.join(dir, "missing", "t.csv"), /--out: output directory .*missing does not exist/],
      [path.join(dir, "x.csv") + path.sep, /--out: is a directory/],
    ];
    fs.mkdirSync(path.join(dir, "sub.json"));
    cases.push([path.join(dir, "sub.json"), /--out: is a directory/]);
    for (const [out, message] of cases) {
      const r = runCli(["translate", "--trace", "-", "--out", out], bad);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it.each([["SIGTERM"], ["SIGINT"]])("a %s while the table is being written leaves the old file and no temp file", async (signal) => {
    const dir = tempDir();
    const out = path.join(dir, "i.csv");
    fs.writeFileSync(out, "old\n");
    const child = startCli(["translate", "--trace", "-", "--mode", "native", "--interval", "1", "--out", out]);
    child.stdout!.resume();
    child.stderr!.resume();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, sig) => resolve({ code, signal: sig })));
    // 100k records: the parser hands over 65,536-access batches, whose rows (4 MB) fill more
    // than one buffer, so the temp file has data on disk. Stdin stays open, so the run is
    // still going (mid-write) when the signal comes.
    child.stdin!.write(lackey(100_000));
    const tmpWithData = () => fs.readdirSync(dir).find((f) => f.endsWith(".tmp") && fs.statSync(path.join(dir, f)).size > 0);
    const deadline = Date.now() + 30_000;
    while (tmpWithData() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(tmpWithData()).toBeDefined();
    child.kill(signal as NodeJS.Signals);
    const { signal: got } = await exited;
    expect(got).toBe(signal);
    expect(fs.readdirSync(dir)).toEqual(["i.csv"]);
    expect(fs.readFileSync(out, "utf8")).toBe("old\n");
  }, 60_000);

  it("reports a full disk as one line naming the file, exit 1", () => {
    const dir = tempDir();
    const full = path.join(dir, "full.csv");
    fs.symlinkSync("/dev/full", full);
    const r = runCli(["translate", "--trace", "-", "--out", full], lackey(100));
    expect(r.stderr).toBe(`memvirt: error: --out: cannot write ${full}: no space left on device (ENOSPC)\n`);
    expect(r.code).toBe(1);
  });

  it("measures nothing when the trace ends inside the warm-up, and warns on stderr and in --json", () => {
    const json = runCli(["translate", "--trace", "-", "--mode", "native", "--warmup", "10000", "--json"], lackey(5000));
    expect(json.code).toBe(0);
    const warning = "the input ended during the warm-up, after 5,000 accesses of the 10,000 asked for: nothing was measured, every count is 0";
    expect(json.stderr).toBe(`memvirt: warning: ${warning}\n`);
    const data = JSON.parse(json.stdout);
    expect(data).toMatchObject({ accesses: 0, workloadAccesses: 0, tlbMisses: 0, cycles: 0, guestPageFaults: 0, warnings: [warning] });
    const human = runCli(["translate", "--trace", "-", "--mode", "native", "--warmup", "10000"], lackey(5000));
    expect(human.stdout).toContain(`Warning: ${warning}`);
    expect(human.stdout).toMatch(/^ {2}0 accesses: 0 TLB hits, 0 misses/m);
  });

  it("writes counts in the right number: 1 access, 1 miss", () => {
    const r = runCli(["translate", "--trace", "-", "--mode", "native"], "I  04001000,4\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}1 access: 0 TLB hits, 1 miss \(100\.00%\)\.$/m);
    expect(r.stdout).toMatch(/took 1 page fault and/);
    expect(r.stdout).not.toMatch(/\b1 (accesses|misses|page faults|processes)\b/);
  });

  it.each([
    [["--mode", "native", "--mode", "shadow"], "--mode: given 2 times; give it once"],
    [["--no-tlb", "--no-tlb"], "--no-tlb: given 2 times; give it once"],
    [["--no-tlb", "--tlb-entries", "64"], "--tlb-entries: conflicts with --no-tlb (there is no TLB to size) (got \"64\")"],
    [["--mode", "native", "--host-levels", "5"], "--host-levels: native paging has no host page tables; drop it or choose another --mode (got \"5\")"],
    [["--mode", "native", "--host-page-size", "2M"], "--host-page-size: native paging has no host page tables; drop it or choose another --mode (got \"2M\")"],
    [["--mode", "shadow", "--nested-tlb"], "--nested-tlb: a nested TLB exists only in nested paging, not --mode shadow"],
    [["--mode", "nested", "--no-trap-reads"], "--no-trap-reads: applies only to --mode protected, not --mode nested"],
    [["--interval", "5"], "--interval: sets the rows of the --out table; add --out FILE.csv or drop it (got \"5\")"],
    [["--switch-every", "5"], "--switch-every: switches between processes; it needs --processes 2 or more (got \"5\")"],
    [["--cost", "trapCycles=1", "--cost", "trapCycles=2"], "--cost: trapCycles given twice; give each cost once (got \"trapCycles=2\")"],
  ])("rejects conflicting, repeated or moot flags: %j", (flags, message) => {
    const r = runCli(["translate", "--trace", "-", ...flags], "I  0400d7d4,8\n");
    expect(r.stderr).toBe(`memvirt: error: ${message}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("accepts flags that apply: --no-trap-reads in protected mode, --switch-every with processes", () => {
    const r = runCli(["translate", "--trace", "-", "--mode", "protected", "--no-trap-reads", "--processes", "2", "--switch-every", "10", "--json"], lackey(100));
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).settings.trapReads).toBe(false);
  });

  it("says what the trace held: records, page accesses, records crossing a page, skipped lines", () => {
    // Two records, one of which crosses from page 0x4000 into 0x4001; a banner line and a blank.
    const text = "==1== Lackey\nI  04000ffe,4\n\n L 04001000,4\n";
    const r = runCli(["translate", "--trace", "-", "--json"], text);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).traceStats).toEqual({ lines: 4, records: 2, accesses: 3, multiPageRecords: 1, skipped: 2 });
    expect(JSON.parse(r.stdout).accesses).toBe(3);
    const human = runCli(["translate", "--trace", "-"], text);
    expect(human.stdout).toContain("The trace: 2 records, 3 page accesses (1 record crossing a page); 2 other lines skipped.");
    const empty = runCli(["translate", "--trace", "-"], "");
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split("\n")).toHaveLength(1);
    expect(empty.stderr).toMatch(/empty trace/);
    const notATrace = runCli(["translate", "--trace", "README.md"]);
    expect(notATrace.code).toBe(2);
    expect(notATrace.stderr).toMatch(/README\.md: no Lackey records \(\d+ lines skipped/);
  });

  it("names the flag, not the library option, when a value cannot be simulated", () => {
    const r = runCli(["translate", "--trace", "-", "--tlb-entries", String(2 ** 30)], "I  0400d7d4,8\n");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt: error: --tlb-entries: a cache of 1,073,741,824 entries needs about [\d.]+ GiB of simulator state; this machine has/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("rejects a malformed record with FILE:LINE and the text, and a missing --trace", () => {
    const bad = runCli(["translate", "--trace", "-"], "I  0400d7d4,8\n S 0x,4\n");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^memvirt: error: <stdin>:2: .*S 0x,4/);
    const dir = tempDir();
    const out = path.join(dir, "i.csv");
    fs.writeFileSync(out, "old\n");
    const badWithOut = runCli(["translate", "--trace", "-", "--out", out], "I  0400d7d4,8\n S 0x,4\n");
    expect(badWithOut.stderr).toMatch(/^memvirt: error: <stdin>:2: /);
    expect(fs.readdirSync(dir)).toEqual(["i.csv"]);
    expect(fs.readFileSync(out, "utf8")).toBe("old\n");
    const none = runCli(["translate", "--mode", "nested"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--trace: a trace is required/);
    const cost = runCli(["translate", "--trace", "-", "--cost", "trapCycle=5"], "I  0400d7d4,8\n");
    expect(cost.stderr).toMatch(/--cost\.trapCycle: unknown cost/);
  });

  it.skipIf(!hasValgrind)(`works at the end of a valgrind pipe${hasValgrind ? "" : " (skipped: valgrind is not installed)"}`, () => {
    const cli = cliArgv(["translate", "--trace", "-", "--mode", "nested", "--json"]).map((a) => `"${a}"`).join(" ");
    const r = spawnSync("bash", ["-c", `valgrind --tool=lackey --trace-mem=yes --log-fd=9 /bin/true 9>&1 >/dev/null | ${cli}`], { encoding: "utf8", timeout: 60_000, cwd: path.resolve(__dirname, "..", "..") });
    expect(r.status).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.accesses).toBeGreaterThan(10_000);
    expect(data.tlbMisses).toBeGreaterThan(0);
  });
});

describe("memvirt translate: the variants of shadow, protected and nested paging", () => {
  const json = (args: string[], records = 600) => {
    const r = runCli(["translate", "--trace", "-", ...args, "--json"], lackey(records));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };

  it.each([
    [["--mode", "nested", "--shadow-policy", "slides"], "--shadow-policy: applies only to --mode shadow, not --mode nested (got \"slides\")"],
    [["--mode", "protected", "--shadow-policy", "kvm"], "--shadow-policy: applies only to --mode shadow, not --mode protected (got \"kvm\")"],
    [["--mode", "shadow", "--pv-policy", "xen"], "--pv-policy: applies only to --mode protected, not --mode shadow (got \"xen\")"],
    [["--pv-policy", "slides"], "--pv-policy: applies only to --mode protected, not --mode nested (got \"slides\")"],
    [["--mode", "shadow", "--shadow-policy", "vmware"], "--shadow-policy: expected one of kvm, slides (got \"vmware\")"],
    [["--mode", "protected", "--pv-policy", "kvm"], "--pv-policy: expected one of xen, slides (got \"kvm\")"],
    [["--mode", "protected", "--pv-policy", "xen", "--pv-policy", "slides"], "--pv-policy: given 2 times; give it once"],
  ])("rejects a policy flag outside its mode, or a bad one: %j", (flags, message) => {
    const r = runCli(["translate", "--trace", "-", ...flags], "I  0400d7d4,8\n");
    expect(r.stderr).toBe(`memvirt: error: ${message}\n`);
    expect(r.code).toBe(2);
  });

  it("--shadow-policy: slides traps every page-table write; kvm (the default) unsyncs the leaf tables instead", () => {
    const slides = json(["--mode", "shadow", "--shadow-policy", "slides"]);
    expect(slides.settings.shadowPolicy).toBe("slides");
    expect(slides.trapsByKind.ptWrite).toBe(slides.ptWrites);
    expect(slides.trapsByKind.unsync).toBe(0);
    const kvm = json(["--mode", "shadow"]);
    expect(kvm.settings.shadowPolicy).toBe("kvm");
    // The same guest work, fewer page-table traps: the trace's two leaf tables unsync once each.
    expect(kvm.ptWrites).toBe(slides.ptWrites);
    expect(kvm.trapsByKind.unsync).toBe(2);
    expect(kvm.trapsByKind.ptWrite).toBeLessThan(slides.trapsByKind.ptWrite);
  });

  it("--pv-policy: slides traps every page-table read; xen (the default) never does", () => {
    const slides = json(["--mode", "protected", "--pv-policy", "slides"]);
    expect(slides.settings).toMatchObject({ pvPolicy: "slides", trapReads: true });
    expect(slides.trapsByKind.ptRead).toBe(slides.ptReads);
    expect(slides.ptReads).toBeGreaterThan(0);
    const xen = json(["--mode", "protected"]);
    expect(xen.settings).toMatchObject({ pvPolicy: "xen", trapReads: false });
    expect(xen.trapsByKind.ptRead).toBe(0);
    expect(xen.ptReads).toBe(slides.ptReads);
  });

  it("nested paging backs guest memory lazily: trapsByKind.eptViolation counts one per host page first touched", () => {
    const records = 100;
    const data = json(["--mode", "nested"], records);
    // The trace's pages (lackey() above), and the guest tables that map them: root, L3, L2, leaf tables.
    const pages = new Set(Array.from({ length: records }, (_, i) => 0x400 + ((i * 4099) % 600)));
    const leafTables = new Set([...pages].map((p) => p >> 9));
    expect(data.trapsByKind.eptViolation).toBe(pages.size + 3 + leafTables.size);
    expect(data.traps).toBe(data.trapsByKind.eptViolation);
  });
});
