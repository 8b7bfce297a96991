/**
 * Tables written row by row, as CSV or JSON, to any text sink (an `OutputFile`, a string
 * builder in tests). Nothing ever holds the whole text: a 2M-row timeline would not fit in one
 * JavaScript string (`JSON.stringify` throws "Invalid string length" near 512 MiB).
 *
 * For the numbers, strings and nulls our tables hold, the bytes are those of arquero's
 * `toCSV()` and of `JSON.stringify(table.objects())`, so a streamed file reads back exactly as
 * the one-shot version did (dates are written as full ISO timestamps).
 */
import type { ColumnTable } from "arquero";

/** Where text goes. */
export interface TextSink {
  write(text: string): void;
}

/** The two table formats of `--out`. */
export type RowFormat = "csv" | "json";

/**
 * Writes one table: `begin()`, `row(values)` per row (values in column order), `end()`.
 *
 * @example
 * const w = new RowWriter(out, "csv", ["t", "vm"]);
 * w.begin(); w.row([0, "web"]); w.end();   // "t,vm\n0,web\n"
 */
export class RowWriter {
  private readonly keys: string[];
  private rows = 0;

  constructor(private readonly sink: TextSink, readonly format: RowFormat, readonly columns: readonly string[]) {
    this.keys = columns.map((c) => `${JSON.stringify(c)}:`);
  }

  /** Rows written so far. */
  get rowCount(): number {
    return this.rows;
  }

  /** The CSV header line, or the JSON array's opening bracket. */
  begin(): void {
    this.sink.write(this.format === "csv" ? `${this.columns.map(csvCell).join(",")}\n` : "[");
  }

  /** One row, its values in the order of `columns`. */
  row(values: ArrayLike<unknown>): void {
    let text = "";
    if (this.format === "csv") {
      for (let i = 0; i < this.keys.length; i++) text += (i ? "," : "") + csvCell(values[i]);
      text += "\n";
    } else {
      let first = true;
      text = this.rows ? ",{" : "{";
      for (let i = 0; i < this.keys.length; i++) {
        const json = JSON.stringify(values[i]);
        if (json === undefined) continue; // as JSON.stringify drops undefined properties
        text += (first ? "" : ",") + this.keys[i] + json;
        first = false;
      }
      text += "}";
    }
    this.rows++;
    this.sink.write(text);
  }

  /** Close the JSON array (CSV needs nothing). */
  end(): void {
    if (this.format === "json") this.sink.write("]");
  }
}

/**
 * Stream every row of an arquero table through a `RowWriter`, `chunkRows` rows at a time,
 * yielding to the event loop between chunks (so Ctrl-C is handled mid-write).
 *
 * @example
 * const w = new RowWriter(out, "csv", run.timeline.columnNames());
 * w.begin(); await writeTableRows(run.timeline, w); w.end();
 */
export async function writeTableRows(table: ColumnTable, writer: RowWriter, chunkRows = 20_000): Promise<void> {
  const data = table.data() as Record<string, { at(row: number): unknown }>;
  const columns = writer.columns.map((c) => data[c]);
  const values: unknown[] = new Array(columns.length);
  const total = table.numRows();
  for (let offset = 0; offset < total; offset += chunkRows) {
    table.scan((row) => {
      for (let i = 0; i < columns.length; i++) values[i] = columns[i].at(row!);
      writer.row(values);
    }, true, chunkRows, offset);
    if (offset + chunkRows < total) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** One CSV cell, quoted as arquero's toCSV quotes it. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = value instanceof Date ? value.toISOString() : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
