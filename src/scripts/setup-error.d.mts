export declare const EXIT_USAGE: 2;
export declare class SetupError extends Error {
  constructor(message: string, exitCode?: number);
  readonly exitCode: number;
}
