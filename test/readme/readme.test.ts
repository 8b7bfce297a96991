/**
 * The README's code must run as written: every ```ts block is executed against src/ (with a stand-in
 * for tslab's display), the experiment-file example is loaded and run, and every `npm run X` it
 * names is a script in package.json. A README edit that breaks an example fails here.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { buildHost, parseExperiment } from "../../src/experiments/experiment-file";

const root = path.resolve(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const blocks = (lang: string) => [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-readme-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What tslab's display received, so a test can check that show() really rendered something. */
const shown: string[] = [];
(globalThis as Record<string, unknown>).__memvirtReadmeTslab = {
  display: { html: (s: string) => shown.push(s), text: (s: string) => shown.push(s) },
};

function runnable(code: string): string {
  const src = path.join(root, "src", "index").replace(/\\/g, "/");
  return code
    .replace(/import \* as tslab from "tslab";/g, "const tslab = (globalThis as any).__memvirtReadmeTslab;")
    .replace(/from "memvirt"/g, `from ${JSON.stringify(src)}`);
}

describe("README", () => {
  const tsBlocks = blocks("ts");
  it("has TypeScript examples to check", () => {
    expect(tsBlocks.length).toBeGreaterThanOrEqual(3);
  });

  tsBlocks.forEach((code, i) => {
    it(`TypeScript example ${i + 1} runs as written (${code.split("\n").find((l) => l.trim() && !l.startsWith("import"))?.trim().slice(0, 50)}…)`, async () => {
      const file = path.join(dir, `block-${i}.ts`);
      fs.writeFileSync(file, runnable(code));
      const before = shown.length;
      await import(pathToFileURL(file).href);
      if (code.includes("show(")) expect(shown.length).toBeGreaterThan(before);
    });
  });

  it("the nested-walk numbers it states are the ones walk() gives", async () => {
    const { walk } = await import("../../src/index");
    expect(readme).toMatch(/walk\(\{ mode: "nested", guestLevels: 4, hostLevels: 4 \}\)\.memoryReferences;\s+\/\/ 24/);
    expect(walk({ mode: "nested", guestLevels: 4, hostLevels: 4 }).memoryReferences).toBe(24);
    expect(readme).toMatch(/walk\(\{ mode: "nested", hostPageSize: "2M" \}\)\.memoryReferences;\s+\/\/ 19/);
    expect(walk({ mode: "nested", hostPageSize: "2M" }).memoryReferences).toBe(19);
  });

  it("the experiment-file example loads as it stands and its host runs", () => {
    const [jsonc] = blocks("jsonc");
    expect(jsonc).toBeDefined();
    const json = JSON.parse(jsonc.replace(/\/\/.*$/gm, ""));
    const exp = parseExperiment(json, { baseDir: root, file: "README.md" });
    expect(exp.vms.map((v) => v.name)).toEqual(["web"]);
    const host = buildHost(exp);
    const run = host.run({ seconds: 1, sampleEvery: 1 });
    expect(run.timeline.numRows()).toBeGreaterThan(0);
  });

  it("every npm script it names exists", () => {
    const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts);
    const named = [...readme.matchAll(/npm run ([a-z-]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(3);
    for (const name of named) expect(scripts, `npm run ${name}`).toContain(name);
  });
});
