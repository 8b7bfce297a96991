/**
 * What a notebook user sees of the package is its published .d.ts (tslab completes and checks
 * against `dist/`), built with `stripInternal`: members and exports tagged `@internal` are left
 * out. These tests emit those declarations from src/ as `npm run build` does and check that they
 * compile (lib checks on), that a lesson's code compiles against them with tslab's own TypeScript,
 * that every name a lesson or the README imports is there, and that `Host` shows exactly the
 * verbs a lesson uses.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ts from "typescript";
// The compiler tslab runs in the kernel (TypeScript 5.0): the published types must suit it.
import * as tslabTs from "@tslab/typescript-for-tslab";

const root = path.resolve(__dirname, "..", "..");
// Inside node_modules, so the declarations resolve "arquero" and @types/node as dist/ does.
const out = path.join(root, "node_modules", ".cache", `memvirt-surface-${process.pid}`);

/** The members `Host` shows a notebook user: the lesson's verbs (README, notebooks 00 and 03). */
const HOST_VERBS = ["addPolicy", "addVm", "at", "memoryByState", "nowSeconds", "policies", "quantumSeconds", "run", "seed", "setMax", "setWorkload", "vm", "vms"];

let exportsOfIndex: Map<string, ts.Symbol>;
let checker: ts.TypeChecker;
let program: ts.Program;
const lesson = path.join(out, "lesson.ts");

/** Code a lesson writes; the @ts-expect-error lines reach for internals, which must not be there. */
const LESSON = `
  import { Host, ReclamationPolicy, walk, simulateTranslation, type Run, type Vm } from "memvirt";
  const host = new Host({ memory: "256 MiB", seed: 42, costs: { hitNs: 10_000 }, policies: [new ReclamationPolicy()] });
  const vm: Vm = host.addVm({ name: "web", memory: "128 MiB", workload: { kind: "zipf", pages: "96 MiB", exponent: 0.9 } });
  host.at(5, "cap web", () => host.setMax("web", "64 MiB"));
  const run: Run = host.run({ seconds: 10, sampleEvery: 1 });
  const facts: unknown[] = [vm.residentPages, run.timeline, run.hostTimeline, run.summary.vms, run.warnings, run.explain(), host.memoryByState().free];
  const refs: number = walk({ mode: "nested" }).memoryReferences;
  const r = simulateTranslation({ mode: "shadow", workload: { kind: "uniform", pages: 4096 }, accesses: 1000 });
  const cpa: number = r.totals.cyclesPerAccess;
  // @ts-expect-error the host's machinery is not in the published types
  host.allocateFrameFor(vm);
  // @ts-expect-error
  host.checkInvariants();
  // @ts-expect-error
  host.swapOut(0, 1);
  // @ts-expect-error
  vm.p2m;
  export { facts, refs, cpa };
`;

/** Emit src/'s declarations the way tsconfig.build.json does, into `out`. */
function emitDeclarations(): void {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.build.json"), { outDir: out, declarationDir: out, emitDeclarationOnly: true, incremental: false, tsBuildInfoFile: undefined, sourceMap: false }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); },
  });
  if (!config) throw new Error("tsconfig.build.json did not parse");
  expect(config.options.stripInternal).toBe(true);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const result = program.emit();
  const errors = result.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  expect(errors).toEqual([]);
}

/** A program over the emitted index.d.ts and `extra` files, with lib checks on or (as tslab) off. */
function declarationProgram(compiler: typeof ts, extra: string[], skipLibCheck: boolean): ts.Program {
  return compiler.createProgram([path.join(out, "index.d.ts"), ...extra], {
    strict: true,
    noEmit: true,
    skipLibCheck,
    target: compiler.ScriptTarget.ES2022,
    module: compiler.ModuleKind.CommonJS,
    moduleResolution: compiler.ModuleResolutionKind.NodeJs,
    esModuleInterop: true,
    types: ["node"],
    baseUrl: root,
    paths: { memvirt: [path.relative(root, path.join(out, "index.d.ts"))] },
  });
}

/** Errors in the emitted declarations or in `files`, as "file: message". */
function errorsIn(program: ts.Program, files: (name: string) => boolean): string[] {
  const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(), ...program.getGlobalDiagnostics()] as ts.Diagnostic[];
  return diagnostics
    .filter((d) => d.file && files(d.file.fileName))
    .map((d) => `${path.relative(out, d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

/** Names imported from "memvirt" in the notebooks' code cells and the README's examples. */
function lessonVocabulary(): Map<string, string> {
  const used = new Map<string, string>();
  const scan = (code: string, where: string) => {
    for (const m of code.matchAll(/import\s*\{([^}]*)\}\s*from\s*"memvirt"/g)) {
      for (const part of m[1].split(",")) {
        const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0].trim();
        if (name) used.set(name, where);
      }
    }
  };
  const notebooks = path.join(root, "notebooks");
  for (const file of fs.readdirSync(notebooks).filter((f) => f.endsWith(".ipynb"))) {
    const nb = JSON.parse(fs.readFileSync(path.join(notebooks, file), "utf8")) as { cells: Array<{ cell_type: string; source: string | string[] }> };
    for (const cell of nb.cells) if (cell.cell_type === "code") scan(Array.isArray(cell.source) ? cell.source.join("") : cell.source, `notebooks/${file}`);
  }
  scan(fs.readFileSync(path.join(root, "README.md"), "utf8"), "README.md");
  return used;
}

function publicMembers(className: string): string[] {
  const symbol = exportsOfIndex.get(className);
  if (!symbol) throw new Error(`${className} is not exported`);
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(target))
    .filter((p) => {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      return decl !== undefined && !(ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
    })
    .map((p) => p.name)
    .sort();
}

beforeAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
  emitDeclarations();
  fs.writeFileSync(lesson, LESSON);
  program = declarationProgram(ts, [lesson], false);
  checker = program.getTypeChecker();
  const index = program.getSourceFile(path.join(out, "index.d.ts"))!;
  exportsOfIndex = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(index)!).map((s) => [s.name, s]));
}, 180_000);

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe("the published types (dist/*.d.ts)", () => {
  it("compile, lib checks on", () => {
    expect(errorsIn(program, (name) => path.resolve(name).startsWith(out) && name.endsWith(".d.ts"))).toEqual([]);
  });

  it("let a lesson's code type-check against them, and not reach the internals", () => {
    expect(errorsIn(program, (name) => path.resolve(name) === lesson)).toEqual([]);
  });

  it("let a lesson's code type-check as tslab compiles it (its TypeScript 5.0, lib checks off)", () => {
    expect(errorsIn(declarationProgram(tslabTs as unknown as typeof ts, [lesson], true), (name) => path.resolve(name) === lesson)).toEqual([]);
  });

  it("export every name a notebook or the README imports from memvirt", () => {
    const vocabulary = lessonVocabulary();
    expect(vocabulary.size).toBeGreaterThan(15);
    const missing = [...vocabulary].filter(([name]) => !exportsOfIndex.has(name)).map(([name, where]) => `${name} (${where})`);
    expect(missing, "a lesson imports these, so they must not be @internal").toEqual([]);
  });

  it("show Host as the lesson's verbs only: tag anything else on Host /** @internal */", () => {
    expect(publicMembers("Host")).toEqual(HOST_VERBS);
  });

  it("leave the host's and the VM's machinery out of completion", () => {
    const vm = publicMembers("Vm");
    for (const internal of ["p2m", "hstate", "stateCounts", "guest", "balloon", "touch", "swapOut", "invalidate", "randomResidentPage", "checkInvariants", "readForPageOut", "balloonPage"]) {
      expect(vm, `Vm.${internal}`).not.toContain(internal);
    }
    for (const shown of ["name", "memoryPages", "maxPages", "residentPages", "balloonedPages", "hostSwappedPages", "accesses", "workload"]) expect(vm).toContain(shown);
    const mmu = publicMembers("Mmu");
    for (const internal of ["stats", "guest", "vm", "mode", "pwc", "accessPage", "run", "walkSettings", "checkAddress"]) expect(mmu, `Mmu.${internal}`).not.toContain(internal);
    for (const shown of ["access", "counts", "describe", "flushTlb", "settings", "tlb"]) expect(mmu).toContain(shown);
  });

  it("leave the implementation's classes and helpers out of the package's exports", () => {
    for (const internal of ["TimelineRecorder", "MachineMemory", "SwapDevice", "GuestOs", "BalloonDriver", "VirtualSpace", "VmBackend", "RadixPageTable", "SetAssociativeCache",
      "WalkRecorder", "TranslationStats", "TranslationRun", "NestedMode", "ShadowMode", "GuestKernel", "createWorkload", "UniformWorkload", "ZipfWorkload", "LackeyParser",
      "parsePages", "formatCount", "pathJoin", "checkPositive", "resolveVmSettings", "planReclaim", "toMimeBundle", "figureHtml", "RESIDENT", "HOST_STATE_NAMES"]) {
      expect(exportsOfIndex.has(internal), internal).toBe(false);
    }
  });
});
