import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli/program";
import { RowWriter } from "../../src/util/row-stream";
import { removeTempDirs, runCli, tempDir as makeTempDir } from "./run-cli";

const experiment = {
  name: "cli-test",
  seed: 5,
  host: { memory: "16 MiB", costs: { hitNs: 10_000 } },
  vms: [
    { name: "a", memory: "12 MiB", workload: { kind: "uniform", pages: "10 MiB", writeFraction: 0.2 } },
    { name: "b", memory: "12 MiB", balloon: false, workload: { kind: "zipf", pages: "8 MiB", exponent: 0.9 } },
  ],
  run: { seconds: 2, sampleEvery: 0.5 },
};

const tempDir = () => makeTempDir("memvirt-run-");
afterAll(removeTempDirs);

/** A folder that refuses new files: read-only for a normal user; root ignores modes, so /sys. */
function refusingDir(): string | undefined {
  const locked = path.join(tempDir(), "locked");
  fs.mkdirSync(locked);
  fs.chmodSync(locked, 0o555);
  for (const dir of [locked, "/sys"]) {
    try {
      fs.writeFileSync(path.join(dir, "memvirt-probe"), "");
      fs.unlinkSync(path.join(dir, "memvirt-probe"));
    } catch {
      return dir;
    }
  }
  return undefined;
}

function writeExperiment(dir: string, spec: unknown): string {
  const file = path.join(dir, "exp.json");
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

describe("memvirt run", () => {
  it("runs an experiment, prints a summary and writes the timeline as CSV", () => {
    const dir = tempDir();
    const out = path.join(dir, "results.csv");
    const r = runCli(["run", writeExperiment(dir, experiment), "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^experiment cli-test: 2 s simulated, seed 5/);
    expect(r.stdout).toMatch(/\ba\s+[\d,]+\s/);
    const csv = fs.readFileSync(out, "utf8").trim().split("\n");
    expect(csv[0]).toMatch(/^t,vm,hostState,configuredPages,/);
    expect(csv).toHaveLength(1 + 4 * 2);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("gives a JSON summary with --json and full results in a .json file", () => {
    const dir = tempDir();
    const out = path.join(dir, "results.json");
    const r = runCli(["run", writeExperiment(dir, experiment), "--out", out, "--json", "--seed", "9"]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.experiment).toBe("cli-test");
    expect(summary.seed).toBe(9);
    expect(summary.summary.vms.map((v: { name: string }) => v.name)).toEqual(["a", "b"]);
    const full = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(Object.keys(full)).toEqual(["experiment", "seed", "seconds", "warmupSeconds", "summary", "events", "warnings", "timeline", "hostTimeline"]);
    expect(full.summary).toEqual(summary.summary);
    expect(full.timeline).toHaveLength(8);
    expect(full.hostTimeline).toHaveLength(4);
    expect(full.timeline[7]).toMatchObject({ t: 2, vm: "b" });
  });

  it("streams the results to --out row by row, never as one string", async () => {
    const dir = tempDir();
    const exp = writeExperiment(dir, experiment);
    const row = vi.spyOn(RowWriter.prototype, "row");
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await buildProgram().parseAsync(["node", "memvirt", "run", exp, "--out", path.join(dir, "r.json")]);
      expect(row).toHaveBeenCalledTimes(8 + 4); // every timeline and host-timeline row
      row.mockClear();
      await buildProgram().parseAsync(["node", "memvirt", "run", exp, "--out", path.join(dir, "r.csv")]);
      expect(row).toHaveBeenCalledTimes(8);
    } finally {
      row.mockRestore();
      stdout.mockRestore();
    }
    expect(JSON.parse(fs.readFileSync(path.join(dir, "r.json"), "utf8")).timeline).toHaveLength(8);
  });

  it("never writes results over the experiment: not through a symlink, a hard link, or over a trace it reads", () => {
    const dir = tempDir();
    const exp = writeExperiment(dir, experiment);
    fs.symlinkSync("exp.json", path.join(dir, "link.json"));
    fs.linkSync(exp, path.join(dir, "hard.json"));
    const viaLink = runCli(["run", path.join(dir, "link.json"), "--out", exp]);
    expect(viaLink.code).toBe(2);
    expect(viaLink.stderr).toMatch(/^memvirt: error: --out: is the experiment file itself; the results would overwrite it/);
    const toLink = runCli(["run", exp, "--out", path.join(dir, "link.json")]);
    expect(toLink.stderr).toMatch(/--out: is the experiment file itself/);
    const hard = runCli(["run", exp, "--out", path.join(dir, "hard.json")]);
    expect(hard.stderr).toMatch(/--out: is the experiment file itself/);
    fs.writeFileSync(path.join(dir, "t.csv"), "I  0400d7d4,8\n".repeat(100));
    const traced = { ...experiment, vms: [{ name: "a", memory: "12 MiB", workload: { kind: "trace", file: "t.csv", loop: true } }] };
    const tracedFile = path.join(dir, "traced.json");
    fs.writeFileSync(tracedFile, JSON.stringify(traced));
    const overTrace = runCli(["run", tracedFile, "--out", path.join(dir, "t.csv")]);
    expect(overTrace.code).toBe(2);
    expect(overTrace.stderr).toMatch(/--out: is the input file "t\.csv" itself/);
    expect(JSON.parse(fs.readFileSync(exp, "utf8"))).toEqual(experiment);
    expect(fs.readFileSync(path.join(dir, "t.csv"), "utf8")).toBe("I  0400d7d4,8\n".repeat(100));
  });

  it("writes results through a symlinked --out: the link stays a link", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "real.csv"), "old\n");
    fs.symlinkSync("real.csv", path.join(dir, "r.csv"));
    const r = runCli(["run", writeExperiment(dir, experiment), "--out", path.join(dir, "r.csv")]);
    expect(r.code).toBe(0);
    expect(fs.lstatSync(path.join(dir, "r.csv")).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(dir, "real.csv"), "utf8")).toMatch(/^t,vm,hostState,/);
  });

  // The kernel refuses the write part-way (a file-size limit: EFBIG after 16 KiB). A plain,
  // non-atomic write would leave the old results truncated and half-replaced.
  it.each([["csv"], ["json"]])("keeps the old results when the write fails part-way (.%s)", (ext) => {
    const dir = tempDir();
    const out = path.join(dir, `results.${ext}`);
    fs.writeFileSync(out, "old results\n");
    const many = { ...experiment, run: { seconds: 2, sampleEvery: 0.01 } }; // 400 rows, about 60 KB
    const r = runCli(["run", writeExperiment(dir, many), "--out", out], undefined, undefined, { fileSizeLimitKiB: 16 });
    expect(r.stderr).toBe(`memvirt: error: --out: cannot write ${out}: file too large (EFBIG); the old file is unchanged\n`);
    expect(r.code).toBe(1);
    expect(fs.readFileSync(out, "utf8")).toBe("old results\n");
    expect(fs.readdirSync(dir).sort()).toEqual(["exp.json", `results.${ext}`]);
  });

  it("checks that --out can be written before simulating anything", (ctx) => {
    const refusing = refusingDir();
    if (refusing === undefined) return ctx.skip("no directory here refuses new files (running as root, /sys writable)");
    const dir = tempDir();
    // A simulated day: were it started, the child would hit the test's timeout.
    const long = { ...experiment, run: { seconds: 86_400, sampleEvery: 1 } };
    const r = runCli(["run", writeExperiment(dir, long), "--out", path.join(refusing, "r.csv")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt: error: --out: cannot create files in .*: (permission denied|read-only file system|operation not permitted)/);
  });

  it("reads --seed as the JSON does: \"42\" is 42, and a seed it cannot hold is refused naming --seed", () => {
    const dir = tempDir();
    const file = writeExperiment(dir, experiment);
    const fromFlag = JSON.parse(runCli(["run", file, "--json", "--seed", "42"]).stdout);
    const fromJson = JSON.parse(runCli(["run", writeExperiment(tempDir(), { ...experiment, seed: "42" }), "--json"]).stdout);
    expect(fromFlag.seed).toBe(42);
    expect(fromJson.seed).toBe(42);
    expect(fromFlag.summary).toEqual(fromJson.summary);
    for (const bad of ["1.5", "007", "1e300"]) {
      const r = runCli(["run", file, "--seed", bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^memvirt: error: --seed: .*\\(got "${bad}"\\)\n$`));
    }
  });

  it("passes the run's warnings on: stderr and --json, e.g. an overcommitted host with no reclamation", () => {
    const dir = tempDir();
    const bare = { ...experiment, reclamation: false }; // 24 MiB of VMs on a 16 MiB host
    const r = runCli(["run", writeExperiment(dir, bare), "--json"]);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.warnings.length).toBeGreaterThan(0);
    expect(data.warnings[0]).toMatch(/ReclamationPolicy/);
    expect(r.stderr).toContain(data.warnings[0]);
    const fine = JSON.parse(runCli(["run", writeExperiment(tempDir(), experiment), "--json"]).stdout);
    expect(fine.warnings).toEqual([]);
  });

  it("says what page sharing saved, in one line, when the experiment shares pages", () => {
    const vm = (name: string) => ({ name, memory: 600, contents: { os: { name: "linux", version: "6.1", pages: 400 }, zeroFraction: 0.5 }, workload: { kind: "uniform", pages: 500 } });
    const shared = { seed: 7, host: { memory: 4000, sharing: { scanner: "esx" } }, vms: [vm("a"), vm("b")], run: { seconds: 2, sampleEvery: 1 } };
    const r = runCli(["run", writeExperiment(tempDir(), shared)]);
    expect(r.code).toBe(0);
    const m = /^page sharing: ([\d,]+) machine pages saved at the end \(.+\); ([\d,]+) copy-on-write breaks, ([\d,]+) pages hashed, ([\d,]+) compared$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1].replace(/,/g, ""))).toBeGreaterThan(0);
    expect(Number(m![3].replace(/,/g, ""))).toBeGreaterThan(0);
    expect(runCli(["run", writeExperiment(tempDir(), experiment)]).stdout).not.toMatch(/page sharing/);
  });

  it("rejects a flag given twice", () => {
    const dir = tempDir();
    const r = runCli(["run", writeExperiment(dir, experiment), "--seed", "1", "--seed", "2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("memvirt: error: --seed: given 2 times; give it once\n");
  });

  it("rejects a bad experiment with one line naming the JSON path, exit 2, and writes nothing", () => {
    const dir = tempDir();
    const out = path.join(dir, "results.csv");
    const bad = { ...experiment, vms: [experiment.vms[0], { ...experiment.vms[1], memory: "-3 MiB" }] };
    const r = runCli(["run", writeExperiment(dir, bad), "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^memvirt: error: vms\[1\]\.memory: /);
    expect(fs.existsSync(out)).toBe(false);
  });

  it("leaves an existing output file alone when the run fails part-way", () => {
    const dir = tempDir();
    const out = path.join(dir, "results.csv");
    fs.writeFileSync(out, "old results\n");
    // The workload fits a's guest only while its balloon is empty (a workload that can never fit
    // is refused at load); under host pressure the balloon inflates and the guest runs out mid-run.
    const failing = { ...experiment, vms: [
      { name: "a", memory: "12 MiB", guest: { swap: 16 }, workload: { kind: "uniform", pages: "11 MiB", writeFraction: 1 } },
      { name: "b", memory: "12 MiB", balloon: false, workload: { kind: "uniform", pages: "10 MiB", writeFraction: 1 } },
    ] };
    const r = runCli(["run", writeExperiment(dir, failing), "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt: error: vms\[0\]\.guest\.swap: guest ran out of memory at t ≈ [\d.]+ s: every page/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(fs.readFileSync(out, "utf8")).toBe("old results\n");
    expect(fs.readdirSync(dir).sort()).toEqual(["exp.json", "results.csv"]);
  });

  it("rejects an --out in a missing directory before simulating anything", () => {
    const dir = tempDir();
    // A run of a simulated day: were it started, the child would hit the test's timeout.
    const long = { ...experiment, run: { seconds: 86_400, sampleEvery: 1 } };
    const r = runCli(["run", writeExperiment(dir, long), "--out", path.join(dir, "missing", "r.csv")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt: error: --out: output directory .*missing does not exist/);
    const intoDir = runCli(["run", writeExperiment(dir, long), "--out", dir + path.sep + "sub.csv" + path.sep]);
    expect(intoDir.code).toBe(2);
    expect(intoDir.stderr).toMatch(/--out: is a directory/);
    const self = writeExperiment(dir, long);
    const overwrite = runCli(["run", self, "--out", self]);
    expect(overwrite.stderr).toMatch(/--out: is the experiment file itself/);
    expect(JSON.parse(fs.readFileSync(self, "utf8"))).toEqual(long);
  });

  it("rejects an output file that is neither .csv nor .json, and a missing experiment file", () => {
    const dir = tempDir();
    const r = runCli(["run", writeExperiment(dir, experiment), "--out", path.join(dir, "r.xlsx")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: must end in \.csv or \.json/);
    const missing = runCli(["run", path.join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: cannot read the experiment file/);
  });
});
