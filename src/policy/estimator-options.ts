/**
 * A VM's working-set estimator as the experiment file describes it, under `vms[i].sampling`:
 *
 *   "sampling": { "estimator": "sampling", "samplePages": 100, "periodSeconds": 30,
 *                 "slowGain": 0.125, "fastGain": 0.5 }                       (the defaults)
 *   "sampling": { "estimator": "damon", "periodSeconds": 30, "sampleIntervalSeconds": 1.5,
 *                 "minRegions": 10, "maxRegions": 1000 }
 *   "sampling": true    Waldspurger's sampler with the defaults
 *   "sampling": false   no estimator (the VM counts as wholly active under the idle memory tax)
 *
 * Unknown keys and bad values are errors naming their JSON path (`vms[0].sampling.samplePages`).
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { DamonEstimator, DamonParams } from "./damon-estimator";
import { SamplerParams, WorkingSetSampler } from "./working-set-sampler";
import { VmEstimator } from "./vm-estimator";

/** The keys each estimator takes under `sampling` (the VM is implied). */
const SAMPLER_KEYS = ["samplePages", "periodSeconds", "slowGain", "fastGain"];
const DAMON_KEYS = ["periodSeconds", "sampleIntervalSeconds", "minRegions", "maxRegions"];

/** The estimators a VM may use. */
export const ESTIMATOR_KINDS = ["sampling", "damon"] as const;
export type EstimatorKind = (typeof ESTIMATOR_KINDS)[number];

/** A VM's `sampling` options (the VM is implied). */
export type EstimatorOptions =
  | ({ estimator?: "sampling" } & Omit<SamplerParams, "vm">)
  | ({ estimator: "damon" } & Omit<DamonParams, "vm">);

/**
 * Build the estimator `options` describe for VM `vmName` (null for `false`).
 *
 * @example
 * createEstimator("web", { samplePages: 200 }, "vms[0].sampling")    // a WorkingSetSampler
 * createEstimator("web", { estimator: "damon" }, "vms[0].sampling")  // a DamonEstimator
 */
export function createEstimator(vmName: string, options: unknown, where = "sampling"): VmEstimator | null {
  if (options === false) return null;
  if (options === true) return new WorkingSetSampler({ vm: vmName }, where);
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new MemvirtError("must be an object such as {\"samplePages\": 100, \"periodSeconds\": 30}, true (the defaults) or false (none)", { where, value: options });
  }
  const { estimator, ...rest } = options as Record<string, unknown>;
  if ("vm" in rest) throw new MemvirtError("is implied by the VM this belongs to: leave it out", { where: pathJoin(where, "vm"), value: rest.vm });
  const kind = estimator ?? "sampling";
  if (kind !== "sampling" && kind !== "damon") {
    throw new MemvirtError(`must be one of ${ESTIMATOR_KINDS.map((k) => `"${k}"`).join(", ")}`, { where: pathJoin(where, "estimator"), value: estimator });
  }
  const keys = ["estimator", ...(kind === "sampling" ? SAMPLER_KEYS : DAMON_KEYS)];
  for (const key of Object.keys(rest)) {
    if (!keys.includes(key)) throw new MemvirtError(`unknown field for the "${kind}" estimator (valid fields: ${keys.join(", ")})`, { where: pathJoin(where, key), value: rest[key] });
  }
  if (kind === "sampling") return new WorkingSetSampler({ ...rest, vm: vmName } as SamplerParams, where);
  return new DamonEstimator({ ...rest, vm: vmName } as DamonParams, where);
}
