export * from "./experiment-file";
