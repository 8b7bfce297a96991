export declare const MIN_TOKEN_CHARS: number;
export declare function checkToken(token: string, where?: string): string;
export declare function resolveToken(
  env: Record<string, string | undefined>,
  random?: (size: number) => Buffer,
): { token: string; source: "MEMVIRT_TOKEN" | "generated" };
export declare function writeTokenFile(token: string, parent?: string): { dir: string; file: string };
export declare function removeTokenFile(dir: string): void;
