import type { ChildProcess } from "node:child_process";
export declare const DEFAULT_PORT: number;
export declare const SERVER_HOST: string;
export declare function parsePort(value: string | undefined, where?: string): number;
export declare function notebookServerLaunch(options: {
  root: string;
  port: number;
  tokenFile: string;
  token: string;
  isRoot: boolean;
  baseEnv: Record<string, string | undefined>;
}): { command: string; argv: string[]; env: Record<string, string> };
export declare function runtimeDirProblem(dir: string): string | undefined;
export declare function serverInfoFiles(runtimeDir: string, pid: number): string[];
export interface ServerInfo {
  port: number;
  hostname: string;
  baseUrl: string;
  token: string;
  pid: number;
}
export declare function parseServerInfo(text: string, pid: number): ServerInfo;
export declare function waitForServerInfo(options: {
  runtimeDir: string;
  child: ChildProcess;
  timeoutMs?: number;
  pollMs?: number;
}): Promise<ServerInfo>;
export declare function httpStatus(options: {
  port: number;
  path: string;
  headers?: Record<string, string>;
  hostname?: string;
  timeoutMs?: number;
}): Promise<number>;
export declare function checkAuthentication(server: {
  port: number;
  baseUrl: string;
  token: string;
  hostname?: string;
}): Promise<{ withToken: number; withoutToken: number }>;
export declare function authenticationProblem(statuses: { withToken: number; withoutToken: number }, port: number): string | undefined;
export declare function notebookUrl(server: { port: number; baseUrl?: string; token: string; hostname?: string }): string;
export declare function stopChild(child: ChildProcess): Promise<void>;
export declare function startNotebookServer(options: {
  root: string;
  port: number;
  token: string;
  isRoot: boolean;
  baseEnv?: Record<string, string | undefined>;
  timeoutMs?: number;
  onSpawn?: (child: ChildProcess) => void;
}): Promise<{ child: ChildProcess; port: number; url: string; kernel: { ok: boolean; line: string } }>;
