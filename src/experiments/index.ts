export * from "./experiment-file";
export * from "./ballooning";
export * from "./overcommit";
