/**
 * memvirt: a memory-virtualization laboratory.
 *
 * Layers (each imports only those to its left):
 *   util → mmu → virt → host → policy
 * with workloads/trace (on util), analysis, experiments, display and cli around them.
 * This file only re-exports.
 */
export * from "./util";
export * from "./mmu";
export * from "./virt";
export * from "./workloads";
export * from "./display";
export * from "./trace";
export * from "./contents";
export * from "./host";
export * from "./policy";
export * from "./analysis";
export * from "./experiments";
export * from "./qemu";
