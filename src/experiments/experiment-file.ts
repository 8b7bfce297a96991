/**
 * Experiments as JSON files, for `memvirt run EXPERIMENT.json`.
 *
 *   {
 *     "name": "overcommit",                 optional
 *     "description": "...",                 optional
 *     "seed": 42,                           optional (a safe integer or a string, default 1; "42" is 42)
 *     "host": { "memory": "1 GiB", "swap": "auto", "quantumSeconds": 0.01, "costs": {...} },
 *     "reclamation": { "periodSeconds": 1, "thresholds": {...}, "balloon": true, ... } | false,
 *     "allocation": { "taxRate": 0.75 },    optional: the idle memory tax (default τ 0.75 when given)
 *     "cacheAllocation": { "budget": "128 MiB", "periodSeconds": 5, "chunk": "2 MiB" },
 *                                           optional: exclusive-cache pages shared by estimated need
 *     "vms": [ { "name": "web", "memory": "512 MiB", "min": 0, "max": "512 MiB", "shares": 5120,
 *                "workload": { "kind": "zipf", ... }, "balloon": {...} | false, "guest": {...},
 *                "sampling": { "estimator": "sampling", "samplePages": 100, "periodSeconds": 30 }
 *                            | { "estimator": "damon", ... } | true | false,
 *                "tracing": { "exclusiveCache": { "size": "64 MiB", "targetMissRatio": 0.05,
 *                             "need": "target" | "knee", "kneeSlopeFraction": 0.1, "ghosts": "64 MiB",
 *                             "periodSeconds": 1, "decay": 0.9 } } } ],
 *     "events": [ { "at": 30, "vm": "web", "max": "256 MiB" },       at < run.seconds (an event at the end never fires)
 *                 { "at": 45, "vm": "db", "workingSet": "300 MiB" } ],
 *     "run": { "seconds": 60, "sampleEvery": 1, "warmupSeconds": 0 }
 *   }
 *
 * Working-set estimators (`vms[i].sampling`, policy/estimator-options.ts) run as policies
 * before the reclamation policy, so it sees fresh estimates. Under a nonzero tax, a VM without a
 * `sampling` key gets Waldspurger's sampler with its defaults (the tax needs an estimate);
 * `"sampling": false` opts out, and the VM then counts as wholly active. A tax rate of 0 adds no
 * estimator: the run is the one without `allocation`.
 *
 * A VM's `tracing.exclusiveCache` gives it a hypervisor exclusive cache of `size` beyond its
 * `memory` (host/host-config.ts) and the LRU tracer that derives its miss-ratio curve at sizes
 * ≥ v; `cacheAllocation` then re-sizes those caches every period from the estimated needs within
 * `budget` (policy/exclusive-cache-allocation.ts), and needs at least one traced VM.
 *
 * Invariants: every field is validated; an unknown key or a bad value is a MemvirtError naming
 * its JSON path (`vms[1].balloon.maxFraction`). The same file and seed give the same results.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MemvirtError, pathJoin } from "../util/errors";
import { formatBytes, PAGE_SIZE_BYTES, parsePages } from "../util/units";
import { checkSeed } from "../util/rng";
import { Host } from "../host/host";
import { checkCallback, checkObject, checkPositive, HostOptions, quantumIndex, resolveHostSettings, resolveVmSettings, VmOptions, wholeQuanta } from "../host/host-config";
import { Vm } from "../host/vm";
import { checkWorkloadFits } from "../host/guest-capacity";
import { checkStateFits } from "../mmu/memory-budget";
import { Run } from "../host/run";
import { ReclamationPolicy, ReclamationParams } from "../policy/reclamation-policy";
import { createSharingPolicy } from "../policy/sharing-policy";
import { AllocationSettings, resolveAllocation } from "../policy/idle-tax";
import { createEstimator } from "../policy/estimator-options";
import { HostPolicy } from "../host/host-policy";
import { resolveTracing } from "../host/host-config";
import { createCacheAllocation } from "../policy/exclusive-cache-allocation";
// Registers the tracer the host builds for a VM's `tracing.exclusiveCache` (the host imports no policy).
import "../policy/exclusive-cache-tracer";

/** A validated experiment (still in the user's units; sizes are checked when the host is built). */
export interface Experiment {
  name: string;
  description: string;
  /** Canonical: a canonical decimal string ("42") is stored as the number. */
  seed: number | string;
  host: Record<string, unknown>;
  reclamation: ReclamationParams | false;
  /** The idle memory tax, when the file has `allocation` (undefined: plain proportional share). */
  allocation: AllocationSettings | undefined;
  /** The exclusive caches' adaptive allocation (`cacheAllocation`) as written; undefined without one. */
  cacheAllocation: unknown;
  /** VM options, without their `sampling` key (which the host does not know). */
  vms: VmOptions[];
  /** Each VM's `sampling` value as written (undefined when absent), by VM index. */
  sampling: unknown[];
  events: ExperimentEvent[];
  run: { seconds: number; sampleEvery: number; warmupSeconds: number };
  /** Directory relative paths (trace files) resolve against. */
  baseDir: string;
}

/** A change at a point in simulated time (seconds after the measured run starts). */
export interface ExperimentEvent {
  at: number;
  vm: string;
  /** New limit for the VM (balloons it down or lets it grow back). */
  max?: number | string;
  /** New working set for a "toucher" workload. */
  workingSet?: number | string;
}

/** The result of running an experiment. */
export interface ExperimentResult {
  experiment: Experiment;
  host: Host;
  /** The measured run (after any warm-up). */
  run: Run;
}

const TOP_KEYS = ["name", "description", "seed", "host", "reclamation", "allocation", "cacheAllocation", "vms", "events", "run"];
const HOST_KEYS = ["memory", "swap", "quantumSeconds", "costs", "sharing"];
const RUN_KEYS = ["seconds", "sampleEvery", "warmupSeconds"];
const EVENT_KEYS = ["at", "vm", "max", "workingSet"];

/**
 * Validate the structure of a parsed JSON experiment. Sizes, workloads, admission and the policy
 * are validated when the host is built (`buildHost`, the first step of `runExperiment`), still
 * before anything is simulated.
 *
 * @example
 * const exp = parseExperiment(JSON.parse(text), { baseDir: "data/experiments" });
 */
export function parseExperiment(json: unknown, options: { baseDir?: string; file?: string } = {}): Experiment {
  // The top level has no JSON path of its own: name the file (or say "experiment").
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new MemvirtError("must be a JSON object {\"host\": ..., \"vms\": [...], \"run\": ...}", { where: options.file ?? "experiment", value: json });
  }
  const o = checkObject(json, TOP_KEYS, "");
  const name = optionalString(o.name, "name") ?? "experiment";
  const description = optionalString(o.description, "description") ?? "";
  const seed = checkSeed(o.seed === undefined ? 1 : o.seed, "seed");
  if (o.host === undefined) throw new MemvirtError("is required (at least {\"memory\": \"4 GiB\"})", { where: "host" });
  const host = checkObject(o.host, HOST_KEYS, "host");
  if (host.sharing !== undefined) createSharingPolicy(host.sharing, "host.sharing"); // refuse bad settings before anything runs
  let reclamation: ReclamationParams | false = {};
  if (o.reclamation === false) reclamation = false;
  else if (o.reclamation !== undefined) {
    // Only the shape here; ReclamationPolicy names unknown keys and bad values.
    if (typeof o.reclamation !== "object" || o.reclamation === null || Array.isArray(o.reclamation)) {
      throw new MemvirtError("must be an object of policy parameters, or false for no reclamation policy", { where: "reclamation", value: o.reclamation });
    }
    reclamation = o.reclamation as ReclamationParams;
    if ("allocation" in reclamation) {
      throw new MemvirtError("belongs at the top level of the experiment, beside \"reclamation\": \"allocation\": {\"taxRate\": 0.75}", { where: "reclamation.allocation", value: reclamation.allocation });
    }
  }
  let allocation: AllocationSettings | undefined;
  if (o.allocation !== undefined) {
    allocation = resolveAllocation(o.allocation, "allocation");
    if (reclamation === false) throw new MemvirtError("needs a reclamation policy to act through; remove \"reclamation\": false", { where: "allocation", value: o.allocation });
  }
  if (!Array.isArray(o.vms) || o.vms.length === 0) throw new MemvirtError("must be a non-empty array of VMs", { where: "vms", value: o.vms });
  const runRaw = o.run === undefined ? {} : checkObject(o.run, RUN_KEYS, "run");
  if (runRaw.seconds === undefined) throw new MemvirtError("is required (simulated seconds to run)", { where: "run.seconds" });
  const run = {
    seconds: checkPositive(runRaw.seconds, "run.seconds"),
    sampleEvery: runRaw.sampleEvery === undefined ? 1 : checkPositive(runRaw.sampleEvery, "run.sampleEvery"),
    warmupSeconds: runRaw.warmupSeconds === undefined || runRaw.warmupSeconds === 0 ? 0 : checkPositive(runRaw.warmupSeconds, "run.warmupSeconds"),
  };
  if (run.sampleEvery > run.seconds) throw new MemvirtError(`must not exceed run.seconds (${run.seconds})`, { where: "run.sampleEvery", value: run.sampleEvery });
  if (o.events !== undefined && !Array.isArray(o.events)) throw new MemvirtError("must be an array of events", { where: "events", value: o.events });
  const vmNames = (o.vms as unknown[]).map((v) => (typeof v === "object" && v !== null ? (v as { name?: unknown }).name : undefined));
  const events = ((o.events ?? []) as unknown[]).map((e, i) => parseEvent(e, pathJoin("events", i), vmNames, run.seconds));
  // `sampling` is ours, not the host's: take it out of each VM and check it now.
  const sampling: unknown[] = [];
  const vms = (o.vms as unknown[]).map((v, i) => {
    if (typeof v !== "object" || v === null || Array.isArray(v) || !("sampling" in v)) {
      sampling.push(undefined);
      return v as VmOptions;
    }
    const { sampling: spec, ...rest } = v as Record<string, unknown>;
    const name = typeof rest.name === "string" && rest.name !== "" ? rest.name : `vms[${i}]`;
    createEstimator(name, spec, pathJoin("vms", i, "sampling"));
    sampling.push(spec);
    return rest as unknown as VmOptions;
  });
  // Tracing is the host's key, checked here too so a bad one is refused before anything is built.
  let traced = 0;
  vms.forEach((v, i) => {
    const tracing = typeof v === "object" && v !== null ? (v as { tracing?: unknown }).tracing : undefined;
    if (tracing !== undefined && resolveTracing(tracing, pathJoin("vms", i, "tracing"))) traced++;
  });
  if (o.cacheAllocation !== undefined) {
    createCacheAllocation(o.cacheAllocation, "cacheAllocation");
    if (traced === 0) throw new MemvirtError("needs at least one VM with \"tracing\": {\"exclusiveCache\": {...}} to allocate to", { where: "cacheAllocation", value: o.cacheAllocation });
  }
  const experiment: Experiment = {
    name, description, seed, host, reclamation, allocation, cacheAllocation: o.cacheAllocation, vms, sampling, events, run,
    baseDir: options.baseDir ?? process.cwd(),
  };
  return experiment;
}

function parseEvent(value: unknown, where: string, vmNames: unknown[], seconds: number): ExperimentEvent {
  const e = checkObject(value, EVENT_KEYS, where);
  // An event at run.seconds would fall after the last quantum and never fire (see buildHost).
  if (typeof e.at !== "number" || !Number.isFinite(e.at) || e.at < 0 || e.at >= seconds) {
    throw new MemvirtError(`must be a time in seconds from 0 up to, not including, run.seconds (${seconds}): an event at the end of the run would never fire`, { where: pathJoin(where, "at"), value: e.at });
  }
  if (typeof e.vm !== "string" || !vmNames.includes(e.vm)) {
    throw new MemvirtError(`must name a VM (${vmNames.filter((n) => typeof n === "string").join(", ")})`, { where: pathJoin(where, "vm"), value: e.vm });
  }
  const actions = ["max", "workingSet"].filter((k) => e[k] !== undefined);
  if (actions.length !== 1) throw new MemvirtError("needs exactly one change: \"max\" or \"workingSet\"", { where, value });
  const key = actions[0];
  parsePages(e[key], pathJoin(where, key));
  return { at: e.at, vm: e.vm, [key]: e[key] } as ExperimentEvent;
}

/**
 * Estimate the whole experiment's simulator state (host frames, then each VM) before anything is
 * built, and refuse it at the VM (or the host) where it outgrows this machine's memory: a 4 TiB
 * host with 28 TiB of VMs is refused here, not after minutes of allocation. The Host repeats the
 * check as it builds (for hosts built from code).
 */
/** The host options without `sharing`, which becomes a policy (the host never builds one). */
function withoutSharing(host: Experiment["host"]): Omit<Experiment["host"], "sharing"> {
  const { sharing: _sharing, ...rest } = host as Experiment["host"] & { sharing?: unknown };
  return rest;
}

function checkExperimentState(exp: Experiment): void {
  const host = resolveHostSettings(withoutSharing(exp.host) as unknown as HostOptions, "host");
  const size = (pages: number) => formatBytes(pages * PAGE_SIZE_BYTES);
  let bytes = 4 * host.memoryPages;
  checkStateFits(bytes, `a host of ${size(host.memoryPages)}`, "host.memory", exp.host.memory);
  let vmPages = 0;
  exp.vms.forEach((vm, i) => {
    const settings = resolveVmSettings(vm, pathJoin("vms", i));
    bytes += Vm.estimateStateBytes(settings);
    vmPages += settings.memoryPages;
    checkStateFits(bytes, `a host of ${size(host.memoryPages)} with ${i + 1} VM${i === 0 ? "" : "s"} of ${size(vmPages)} in all (vms[0] to here)`, pathJoin("vms", i, "memory"), vm.memory);
  });
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new MemvirtError("must be a string", { where, value });
  return value;
}

/**
 * Build the host an experiment describes (VMs added, policy installed, events scheduled
 * relative to `startSeconds`).
 *
 * @internal
 * @example
 * const host = buildHost(exp);
 */
export function buildHost(exp: Experiment, startSeconds = 0): Host {
  checkExperimentState(exp);
  // Estimators first: the reclamation policy then ticks on this quantum's estimates.
  const policies: HostPolicy[] = [];
  exp.vms.forEach((vm, i) => {
    const spec = exp.sampling?.[i];
    const estimator = spec === undefined
      ? (exp.allocation && exp.allocation.taxRate > 0 ? createEstimator(String(vm.name), true, pathJoin("vms", i, "sampling")) : null)
      : createEstimator(String(vm.name), spec, pathJoin("vms", i, "sampling"));
    if (estimator) policies.push(estimator);
  });
  if (exp.reclamation !== false) {
    const params = exp.allocation ? { ...exp.reclamation, allocation: exp.allocation } : exp.reclamation;
    policies.push(new ReclamationPolicy(params, "reclamation"));
  }
  // After the estimators and reclamation; the host puts the caches' tracer before every policy.
  if (exp.cacheAllocation !== undefined) policies.push(createCacheAllocation(exp.cacheAllocation, "cacheAllocation"));
  // Page sharing scans before reclamation decides, so a tick's merges count as free memory.
  if (exp.host.sharing !== undefined) policies.unshift(createSharingPolicy(exp.host.sharing, "host.sharing"));
  const host = new Host({ ...(withoutSharing(exp.host) as { memory: string }), seed: exp.seed, policies }, "host");
  // Events run at the start of the quantum nearest their time; one that rounds to the end of
  // the run (or later) would never fire, so it is refused here, before anything runs.
  const q = host.quantumSeconds;
  const endQuantum = quantumIndex(startSeconds, q) + Math.round(exp.run.seconds / q);
  exp.events.forEach((e, i) => {
    if (quantumIndex(startSeconds + e.at, q) >= endQuantum) {
      const latest = +(exp.run.seconds - q).toFixed(9);
      throw new MemvirtError(`falls in the run's last half-quantum (events run at the start of the nearest ${q} s quantum), so it would never fire; the latest time that fires is ${latest}`, { where: pathJoin("events", i, "at"), value: e.at });
    }
  });
  exp.vms.forEach((vm, i) => host.addVm(vm, { where: pathJoin("vms", i), baseDir: exp.baseDir }));
  exp.events.forEach((e, i) => {
    const where = pathJoin("events", i);
    const vm = host.vm(e.vm);
    if (e.max !== undefined) {
      const max = e.max;
      try {
        const pages = parsePages(max, pathJoin(where, "max"));
        if (pages > vm.memoryPages || pages < vm.minPages || pages <= vm.guest.settings.kernelPages) throw new Error();
      } catch {
        throw new MemvirtError(`must be between the VM's min and memory (${vm.memoryPages} pages), above its kernel's ${vm.guest.settings.kernelPages} pages`, { where: pathJoin(where, "max"), value: max });
      }
      host.at(startSeconds + e.at, "", () => host.setMax(e.vm, max));
    } else {
      const workload = vm.workload as unknown as { setWorkingSetPages?: (p: number | string) => void } | undefined;
      if (!workload || typeof workload.setWorkingSetPages !== "function") {
        throw new MemvirtError(`VM "${e.vm}" does not run a "toucher" workload, whose working set could change`, { where: pathJoin(where, "workingSet"), value: e.workingSet });
      }
      const ws = e.workingSet!;
      // The toucher then touches [basePage, basePage + ws): it must fit in the guest too.
      const basePage = (workload as { basePage?: number }).basePage ?? 0;
      const wsPages = parsePages(ws, pathJoin(where, "workingSet"));
      checkWorkloadFits({ name: "", fill: () => 0, footprint: () => [[basePage, wsPages]] }, vm.guest.settings, pathJoin(where, "workingSet"));
      host.at(startSeconds + e.at, `${e.vm}'s working set becomes ${ws}${typeof ws === "number" ? " pages" : ""}`, () => workload.setWorkingSetPages!(ws));
    }
  });
  return host;
}

/**
 * Run an experiment: warm up (unrecorded) if asked, then the measured run.
 *
 * @example
 * const { run } = runExperiment(exp, { onProgress: (done, total) => {} });
 * console.log(run.explain());
 */
export function runExperiment(exp: Experiment, options: { onProgress?: (doneSeconds: number, totalSeconds: number) => void } = {}): ExperimentResult {
  checkCallback(options.onProgress, "onProgress");
  const warm = exp.run.warmupSeconds;
  const total = warm + exp.run.seconds;
  const host = buildHost(exp, warm);
  const q = host.quantumSeconds;
  wholeQuanta(exp.run.seconds, q, "run.seconds");
  wholeQuanta(exp.run.sampleEvery, q, "run.sampleEvery");
  if (warm > 0) wholeQuanta(warm, q, "run.warmupSeconds");
  if (warm > 0) host.run({ seconds: warm, sampleEvery: warm, onProgress: (d) => options.onProgress?.(d, total) });
  const run = host.run({ seconds: exp.run.seconds, sampleEvery: exp.run.sampleEvery, onProgress: (d) => options.onProgress?.(warm + d, total) });
  return { experiment: exp, host, run };
}

/**
 * Read and validate an experiment file; relative paths inside resolve against its directory.
 * A JSON syntax error names the file.
 *
 * @example
 * const exp = loadExperimentFile("data/experiments/overcommit.json");
 */
export function loadExperimentFile(file: string): Experiment {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new MemvirtError(`cannot read the experiment file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { where: file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MemvirtError(`is not valid JSON: ${(err as Error).message}`, { where: file });
  }
  return parseExperiment(json, { baseDir: path.dirname(path.resolve(file)), file });
}
