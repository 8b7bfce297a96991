import { describe, expect, it } from "vitest";
import * as aq from "arquero";
import { RowWriter, writeTableRows } from "../../src/util/row-stream";

/** A sink that keeps the text and the size of the largest single write. */
function recorder() {
  const chunks: string[] = [];
  return { chunks, write: (t: string) => { chunks.push(t); }, text: () => chunks.join(""), largest: () => Math.max(...chunks.map((c) => c.length)) };
}

const rows = 30_000;
const table = aq.table({
  t: Array.from({ length: rows }, (_, i) => i / 4),
  vm: Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? "web" : i % 3 === 1 ? "db, \"primary\"" : "a\nb")),
  pages: Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : i * 3)),
});

describe("RowWriter + writeTableRows", () => {
  it("writes CSV byte for byte as arquero's toCSV, one row per write", async () => {
    const sink = recorder();
    const w = new RowWriter(sink, "csv", table.columnNames());
    w.begin();
    await writeTableRows(table, w, 7000);
    w.end();
    expect(sink.text()).toBe(table.toCSV());
    expect(w.rowCount).toBe(rows);
    expect(sink.largest()).toBeLessThan(100); // never the whole table in one string
  });

  it("writes JSON byte for byte as JSON.stringify(table.objects()), one row per write", async () => {
    const sink = recorder();
    const w = new RowWriter(sink, "json", table.columnNames());
    w.begin();
    await writeTableRows(table, w);
    w.end();
    expect(sink.text()).toBe(JSON.stringify(table.objects()));
    expect(sink.largest()).toBeLessThan(100);
    const empty = recorder();
    const e = new RowWriter(empty, "json", ["a"]);
    e.begin();
    await writeTableRows(aq.table({ a: [] }), e);
    e.end();
    expect(empty.text()).toBe("[]");
  });

  it("follows a filtered, ordered table's rows", async () => {
    const view = table.filter((d: { t: number }) => d.t < 10).orderby(aq.desc("t"));
    const sink = recorder();
    const w = new RowWriter(sink, "csv", view.columnNames());
    w.begin();
    await writeTableRows(view, w, 7);
    expect(sink.text()).toBe(view.toCSV());
  });
});
