/**
 * Real page contents: capture a process's resident pages (`capturePages`), store and read them
 * as page snapshots (`writeSnapshot`, `readSnapshot`), and measure how often pages have the
 * same content (`sharingReport`). This file only re-exports.
 */
export * from "./mapping-kind";
export * from "./page-hash";
export * from "./page-snapshot";
export * from "./snapshot-builder";
export * from "./snapshot-format";
export * from "./snapshot-file";
export * from "./proc-maps";
export * from "./capture-process";
export * from "./content-index";
export * from "./sharing-report";
