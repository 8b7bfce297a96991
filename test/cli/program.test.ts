import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli";

describe("memvirt CLI skeleton", () => {
  it("prints help naming every command", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: memvirt");
    expect(r.stdout).toContain("info");
  });

  it("prints the package version", () => {
    const r = runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(require("../../package.json").version);
  });

  it("gives machine-readable output with --json", () => {
    const r = runCli(["info", "--json"]);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.name).toBe("memvirt");
    expect(data.commands).toContain("info");
  });

  it("gives human text without --json", () => {
    const r = runCli(["info"]);
    expect(r.stdout).toMatch(/^memvirt \d+\.\d+\.\d+ on Node\.js/);
  });

  it("rejects an unknown command with one line on stderr and exit code 2", () => {
    const r = runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("frobnicate");
    expect(r.stdout).toBe("");
  });

  it("rejects an unknown option naming it, exit code 2", () => {
    const r = runCli(["info", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--bogus");
  });
});
