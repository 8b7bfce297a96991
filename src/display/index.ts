export * from "./charts";
export * from "./figure";
export * from "./html";
export * from "./mime-bundle";
export * from "./notebook";
