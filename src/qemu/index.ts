/**
 * Real QEMU guests (issue 16): a QMP client, guest-memory capture into page snapshots, and a
 * real balloon driven through QMP. This file only re-exports.
 */
export * from "./qmp-client";
export * from "./capture-vm";
export * from "./cpio-newc";
export * from "./elf-modinfo";
export * from "./kernel-package";
export * from "./guest-workloads";
export * from "./guest-image";
export * from "./vm-state";
export * from "./guest-vm";
export * from "./real-balloon";
export * from "./balloon-compare";
