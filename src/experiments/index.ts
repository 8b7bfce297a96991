export * from "./experiment-file";
export * from "./ballooning";
