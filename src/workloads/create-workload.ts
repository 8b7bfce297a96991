/**
 * Workloads from plain JSON-able specs, as written in experiment files:
 *
 *   { "kind": "zipf", "pages": 4096, "exponent": 1.1, "writeFraction": 0.3 }
 *   { "kind": "phases", "repeat": true, "phases": [
 *       { "accesses": 1000000, "workload": { "kind": "uniform", "pages": "64 MiB" } },
 *       { "accesses": 1000000, "workload": { "kind": "uniform", "pages": "64 MiB", "basePage": "64 MiB" } } ] }
 *   { "kind": "trace", "file": "data/traces/ls.lackey.gz", "loop": true, "renumber": true }
 *
 * Invariants: unknown kinds and unknown fields are rejected (a typo is never silently ignored);
 * every error names the full path, e.g. `vms[1].workload.phases[0].workload.exponent`.
 * Sizes are page counts or strings such as "64 MiB".
 */
import { isAbsolute, resolve } from "node:path";
import { Rng } from "../util/rng";
import { MemvirtError, pathJoin } from "../util/errors";
import { Workload } from "./workload";
import { checkBoolean, checkCount, checkKeys, Size } from "./validate";
import { UniformWorkload } from "./uniform";
import { ZipfWorkload } from "./zipf";
import { ZipfMethod } from "./zipf-sampler";
import { HotColdWorkload } from "./hot-cold";
import { LoopWorkload, ScanWorkload } from "./sequential";
import { ToucherWorkload } from "./toucher";
import { MAX_PHASES_DEPTH, Phase, PhasesWorkload, shortenPhasesPath } from "./phases";
import { loadLackeyTraceSync } from "../trace/load-lackey";
import { TraceReplayWorkload } from "../trace/replay";

/** Fields every generator spec may carry. */
export interface CommonWorkloadSpec {
  /** Probability that an access is a write (default 0). */
  writeFraction?: number;
  /** First page of the region (default 0). */
  basePage?: Size;
  /** Total accesses (default endless; a scan ends after one pass, so its length is at most one pass). */
  accesses?: number;
}

export interface UniformSpec extends CommonWorkloadSpec { kind: "uniform"; pages: Size }
export interface ZipfSpec extends CommonWorkloadSpec { kind: "zipf"; pages: Size; exponent: number; scatter?: boolean; method?: ZipfMethod }
export interface HotColdSpec extends CommonWorkloadSpec { kind: "hot-cold"; pages: Size; hotFraction: number; hotAccessFraction: number }
export interface ScanSpec extends CommonWorkloadSpec { kind: "scan"; pages: Size; accessesPerPage?: number }
export interface LoopSpec extends CommonWorkloadSpec { kind: "loop"; pages: Size; accessesPerPage?: number }
export interface ToucherSpec extends CommonWorkloadSpec { kind: "toucher"; workingSetPages: Size }
export interface PhasesSpec {
  kind: "phases";
  phases: Array<{ accesses?: number; workload: WorkloadSpec }>;
  repeat?: boolean;
  accesses?: number;
}
export interface TraceSpec {
  kind: "trace";
  /** Lackey trace file, plain or gzip; relative paths resolve against `baseDir`. */
  file: string;
  loop?: boolean;
  renumber?: boolean;
  maxRecords?: number;
  basePage?: Size;
  accesses?: number;
}

/** Any workload spec. */
export type WorkloadSpec = UniformSpec | ZipfSpec | HotColdSpec | ScanSpec | LoopSpec | ToucherSpec | PhasesSpec | TraceSpec;

/** The valid `kind` values. */
export const WORKLOAD_KINDS = ["uniform", "zipf", "hot-cold", "scan", "loop", "toucher", "phases", "trace"] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const COMMON = ["kind", "writeFraction", "basePage", "accesses"];
const FIELDS: Record<WorkloadKind, readonly string[]> = {
  uniform: [...COMMON, "pages"],
  zipf: [...COMMON, "pages", "exponent", "scatter", "method"],
  "hot-cold": [...COMMON, "pages", "hotFraction", "hotAccessFraction"],
  scan: [...COMMON, "pages", "accessesPerPage"],
  loop: [...COMMON, "pages", "accessesPerPage"],
  toucher: [...COMMON, "workingSetPages"],
  phases: ["kind", "phases", "repeat", "accesses"],
  trace: ["kind", "file", "loop", "renumber", "maxRecords", "basePage", "accesses"],
};

/**
 * Options of `createWorkload`.
 * @internal
 */
export interface CreateWorkloadOptions {
  /** Directory that relative trace paths resolve against (default: the working directory). */
  baseDir?: string;
}

/**
 * Build a workload from a spec. `rng` should already be split for its owner (e.g. per VM);
 * `where` is the spec's path for error messages.
 *
 * @internal
 * @example
 * const w = createWorkload({ kind: "zipf", pages: "16 MiB", exponent: 1.1, writeFraction: 0.3 }, new Rng(7).split("vm:web"), "vms[0].workload");
 * w.name // "zipf(1.1) over 4,096 pages, 30% writes"
 */
export function createWorkload(spec: WorkloadSpec | unknown, rng: Rng, where = "workload", options: CreateWorkloadOptions = {}): Workload {
  return build(spec, rng, where, options, 0);
}

/** `createWorkload` inside `depth` enclosing phases. */
function build(spec: WorkloadSpec | unknown, rng: Rng, where: string, options: CreateWorkloadOptions, depth: number): Workload {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new MemvirtError(`must be a workload object such as {"kind": "uniform", "pages": 1024} (kinds: ${WORKLOAD_KINDS.join(", ")})`, { where, value: spec });
  }
  const kind = (spec as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !(WORKLOAD_KINDS as readonly string[]).includes(kind)) {
    throw new MemvirtError(`unknown workload kind (valid kinds: ${WORKLOAD_KINDS.join(", ")})`, { where: pathJoin(where, "kind"), value: kind });
  }
  const k = kind as WorkloadKind;
  const s = checkKeys(spec, FIELDS[k], where) as unknown as WorkloadSpec;
  switch (s.kind) {
    case "uniform":
      return new UniformWorkload(s, rng, where);
    case "zipf":
      return new ZipfWorkload(s, rng, where);
    case "hot-cold":
      return new HotColdWorkload(s, rng, where);
    case "scan":
      return new ScanWorkload(s, rng, where);
    case "loop":
      return new LoopWorkload(s, rng, where);
    case "toucher":
      return new ToucherWorkload(s, rng, where);
    case "phases": {
      const list = s.phases as unknown;
      const listWhere = pathJoin(where, "phases");
      // Checked before recursing: a spec nested thousands deep would overflow the stack.
      if (depth >= MAX_PHASES_DEPTH) {
        throw new MemvirtError(`phases nest more than ${MAX_PHASES_DEPTH} deep; at most ${MAX_PHASES_DEPTH} levels are allowed`, { where: shortenPhasesPath(listWhere) });
      }
      if (!Array.isArray(list) || list.length === 0) throw new MemvirtError("must be a non-empty array of {accesses, workload}", { where: listWhere, value: list });
      const phases: Phase[] = list.map((p: unknown, i: number) => {
        const pw = pathJoin(listWhere, i);
        const entry = checkKeys(p, ["accesses", "workload"], pw);
        if (entry.workload === undefined) throw new MemvirtError("is required", { where: pathJoin(pw, "workload") });
        return {
          accesses: entry.accesses === undefined ? undefined : checkCount(entry.accesses, pathJoin(pw, "accesses"), 1),
          workload: build(entry.workload, rng.split(`phase:${i}`), pathJoin(pw, "workload"), options, depth + 1),
        };
      });
      return new PhasesWorkload(phases, { repeat: s.repeat, accesses: s.accesses }, where);
    }
    case "trace": {
      const fileWhere = pathJoin(where, "file");
      if (typeof s.file !== "string" || s.file === "") throw new MemvirtError("must be the path of a Lackey trace file", { where: fileWhere, value: s.file });
      const path = isAbsolute(s.file) ? s.file : resolve(options.baseDir ?? process.cwd(), s.file);
      if (s.loop !== undefined) checkBoolean(s.loop, pathJoin(where, "loop"));
      if (s.renumber !== undefined) checkBoolean(s.renumber, pathJoin(where, "renumber"));
      if (s.maxRecords !== undefined) checkCount(s.maxRecords, pathJoin(where, "maxRecords"), 1);
      let trace;
      try {
        trace = loadLackeyTraceSync(path, { maxRecords: s.maxRecords });
      } catch (err) {
        if (err instanceof MemvirtError && err.where === path) {
          throw new MemvirtError(`${err.message.slice(path.length + 2)} at ${path}`, { where: fileWhere, value: s.file });
        }
        throw err;
      }
      return new TraceReplayWorkload(trace, { loop: s.loop, renumber: s.renumber, basePage: s.basePage, accesses: s.accesses }, where);
    }
  }
}
