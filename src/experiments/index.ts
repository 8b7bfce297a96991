export * from "./experiment-file";
export * from "./ballooning";
export * from "./overcommit";
export * from "./translation";
export * from "./translation-sweep";
export * from "./working-set-sampling";
export * from "./idle-memory-tax";
