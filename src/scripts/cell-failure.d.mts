export interface TslabError {
  message: string;
  line?: number;
  column?: number;
  more: string[];
  thrownAt?: string;
}
export declare function parseTslabError(stderr: string, source: string): TslabError;
export interface NotebookLike {
  cells: Array<{ cell_type: string; source: string | string[]; outputs?: unknown[] }>;
}
export interface CellFailure {
  cellIndex: number | null;
  kind: "error" | "timeout" | "dead-kernel" | "other" | null;
  message: string | null;
}
export declare function describeCellFailure(label: string, nb: NotebookLike | undefined, failure: CellFailure, context?: { timeoutSeconds?: number }): string[];
