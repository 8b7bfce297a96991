/**
 * Real QEMU guests (issue 16): a QMP client, guest-memory capture into page snapshots, and a
 * real balloon driven through QMP. This file only re-exports.
 */
export * from "./qmp-client";
export * from "./capture-vm";
