/**
 * A fake QEMU for the QMP tests: a node `net` server on a unix socket that speaks enough QMP
 * (greeting, qmp_capabilities, pmemsave from an in-memory "guest RAM", query-memory-size-summary,
 * info mtree -f, query-status/stop/cont, balloon/query-balloon, qom-list, qom-set/qom-get guest-stats) and
 * records every command it was sent. Behaviour can be bent per test (`silent`, `errors`).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** What the fake guest holds and how the fake QEMU misbehaves. */
export interface FakeQemuOptions {
  /** Guest RAM, dumped by pmemsave at guest-physical address = offset (below 4 GiB). */
  memory: Uint8Array;
  /** Never send the greeting (a socket that is not QMP, or a second client). */
  silent?: boolean;
  /** Commands answered with a QMP error of this description. */
  errors?: Record<string, string>;
  /** The `info mtree -f` text (default: one pc.ram range over all of `memory`). */
  mtree?: string;
  /** Guest stats that qom-get guest-stats returns (default a fixed set). */
  guestStats?: Record<string, number>;
  /** pmemsave writes this many bytes fewer than asked (a dump cut short). */
  shortBy?: number;
  /** The balloon has no id= (it is under /machine/peripheral-anon as device[0]). */
  anonymousBalloon?: boolean;
  /** Answer these commands only after this many ms (QEMU answers in order: later ones wait too). */
  delayMs?: Record<string, number>;
  /** The guest's CPUs are stopped from the start (default running). */
  stopped?: boolean;
  /** The base-memory QEMU reports, if not the size of `memory` (a guest bigger than this machine). */
  baseMemoryBytes?: number;
  /** Hot-plugged memory QEMU reports (query-memory-size-summary's plugged-memory; default 0). */
  pluggedMemoryBytes?: number;
  /** Fail `command` with `desc` from its `after`+1-th call on (a QEMU that breaks mid-run). */
  failAfter?: { command: string; after: number; desc: string };
  /** Written once right after the greeting (garbage, a line with no newline, …). */
  afterGreeting?: string;
}

/** A running fake QEMU. */
export interface FakeQemu {
  socketPath: string;
  /** Every command received, in order, with its arguments. */
  commands: Array<{ execute: string; arguments?: Record<string, unknown> }>;
  /** Files pmemsave wrote (paths), in order. */
  dumps: string[];
  /** Permission bits of each dump file and its folder as pmemsave found them (-1: no file yet). */
  modes: Array<{ file: number; dir: number }>;
  /** The balloon target as last set (bytes). */
  balloonBytes: number;
  /** Send an asynchronous event to the connected client. */
  sendEvent(event: string, data?: Record<string, unknown>): void;
  close(): Promise<void>;
}

/** The mtree text of a pc guest whose RAM is [0, bytes) with the usual ROM window. */
export function pcMtree(bytes: number): string {
  const hex = (n: number) => n.toString(16).padStart(16, "0");
  return [
    "FlatView #0",
    ' AS "I/O", root: io',
    " Root memory region: io",
    "  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan",
    "",
    "FlatView #1",
    ' AS "memory", root: system',
    ' AS "cpu-memory-0", root: system',
    " Root memory region: system",
    ...(bytes <= 0xc0000 // a toy guest smaller than the BIOS window: one range
      ? [`  0000000000000000-${hex(bytes - 1)} (prio 0, ram): pc.ram`]
      : [
        `  0000000000000000-00000000000bffff (prio 0, ram): pc.ram`,
        `  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom`,
        `  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000`,
        `  0000000000100000-${hex(bytes - 1)} (prio 0, ram): pc.ram @0000000000100000`,
      ]),
    `  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios`,
    "",
  ].join("\r\n");
}

/**
 * Start a fake QEMU on a fresh socket in a private temp folder.
 *
 * @example
 * const fake = await startFakeQemu({ memory: new Uint8Array(1 << 20) });
 */
export async function startFakeQemu(options: FakeQemuOptions): Promise<FakeQemu> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-fake-qmp-"));
  const socketPath = path.join(dir, "qmp.sock");
  const clients = new Set<net.Socket>();
  let running = options.stopped !== true;
  let pollSeconds = 0;
  const fake: FakeQemu = {
    socketPath,
    commands: [],
    dumps: [],
    modes: [],
    balloonBytes: options.memory.length,
    sendEvent(event, data) {
      for (const c of clients) c.write(`${JSON.stringify({ event, data, timestamp: { seconds: 1, microseconds: 0 } })}\r\n`);
    },
    close: () => new Promise<void>((resolve) => {
      for (const c of clients) c.destroy();
      server.close(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    }),
  };
  const answer = (cmd: { execute: string; arguments?: Record<string, any> }): unknown => {
    const args = cmd.arguments ?? {};
    switch (cmd.execute) {
      case "qmp_capabilities": return {};
      case "query-memory-size-summary": return { "base-memory": options.baseMemoryBytes ?? options.memory.length, "plugged-memory": options.pluggedMemoryBytes ?? 0 };
      case "human-monitor-command":
        if (args["command-line"] === "info mtree -f") return options.mtree ?? pcMtree(options.memory.length);
        return "";
      case "pmemsave": {
        const size = Number(args.size) - (options.shortBy ?? 0);
        const file = String(args.filename);
        const modeOf = (p: string) => (fs.existsSync(p) ? fs.statSync(p).mode & 0o777 : -1);
        fake.modes.push({ file: modeOf(file), dir: modeOf(path.dirname(file)) });
        fs.writeFileSync(String(args.filename), options.memory.subarray(Number(args.val), Number(args.val) + size));
        fake.dumps.push(String(args.filename));
        return {};
      }
      case "query-status": return { status: running ? "running" : "paused", running };
      case "stop": running = false; return {};
      case "cont": running = true; return {};
      case "balloon": fake.balloonBytes = Number(args.value); return {};
      case "query-balloon": return { actual: fake.balloonBytes };
      case "qom-list":
        if (args.path === (options.anonymousBalloon ? "/machine/peripheral-anon" : "/machine/peripheral")) {
          return [{ name: "type", type: "string" }, { name: options.anonymousBalloon ? "device[0]" : "balloon0", type: "child<virtio-balloon-pci>" }];
        }
        return [{ name: "type", type: "string" }];
      case "qom-set": if (args.property === "guest-stats-polling-interval") pollSeconds = Number(args.value); return {};
      case "qom-get":
        if (args.property === "guest-stats-polling-interval") return pollSeconds;
        if (args.property === "guest-stats") {
          return {
            stats: options.guestStats ?? { "stat-free-memory": 50_000_000, "stat-available-memory": 90_000_000, "stat-disk-caches": 30_000_000, "stat-total-memory": fake.balloonBytes, "stat-swap-in": 0, "stat-swap-out": 0, "stat-major-faults": 7, "stat-minor-faults": 1000 },
            "last-update": pollSeconds > 0 ? 1 : 0,
          };
        }
        return null;
      default: return undefined;
    }
  };
  const server = net.createServer((socket) => {
    clients.add(socket);
    socket.on("close", () => clients.delete(socket));
    socket.on("error", () => {});
    if (options.silent) {
      if (options.afterGreeting !== undefined) socket.write(options.afterGreeting); // no greeting, only this
      return;
    }
    socket.write(`${JSON.stringify({ QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: "fake" }, capabilities: ["oob"] } })}\r\n`);
    if (options.afterGreeting !== undefined) socket.write(options.afterGreeting);
    let text = "";
    let queue = Promise.resolve();
    socket.on("data", (chunk) => {
      text += chunk.toString();
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        const cmd = JSON.parse(line);
        const delay = options.delayMs?.[cmd.execute] ?? 0;
        queue = queue.then(() => new Promise<void>((r) => setTimeout(r, delay))).then(() => reply(cmd));
      }
    });
    // Like QEMU, a command runs even when its client has gone; only the answer is lost.
    const reply = (cmd: { execute: string; arguments?: Record<string, any>; id?: number }) => {
      {
        fake.commands.push({ execute: cmd.execute, arguments: cmd.arguments });
        const id = cmd.id === undefined ? {} : { id: cmd.id };
        const calls = fake.commands.filter((c) => c.execute === cmd.execute).length;
        const late = options.failAfter?.command === cmd.execute && calls > options.failAfter.after ? options.failAfter.desc : undefined;
        const error = options.errors?.[cmd.execute] ?? late;
        let reply: unknown;
        if (error !== undefined) reply = { error: { class: "GenericError", desc: error }, ...id };
        else {
          let ret: unknown;
          try {
            ret = answer(cmd);
          } catch (err) { // e.g. pmemsave into a folder that is gone, as QEMU's fopen would fail
            ret = undefined;
            reply = { error: { class: "GenericError", desc: `Could not open: ${(err as Error).message}` }, ...id };
          }
          if (reply === undefined) reply = ret === undefined ? { error: { class: "CommandNotFound", desc: `The command ${cmd.execute} has not been found` }, ...id } : { return: ret, ...id };
        }
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\r\n`);
      }
    };
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return fake;
}

/** A guest RAM image: `pages` pages, page i filled per `fill(i)` (0 gives a zero page). */
export function guestMemory(pages: number, fill: (i: number) => number): Uint8Array {
  const m = new Uint8Array(pages * 4096);
  for (let i = 0; i < pages; i++) {
    const b = fill(i);
    if (b !== 0) m.fill(b, i * 4096, (i + 1) * 4096);
  }
  return m;
}

/**
 * The error `p` rejects with (the test fails if it resolves).
 *
 * @example
 * expect((await rejection(QmpClient.connect("/nonexistent"))).message).toMatch(/--qmp/);
 */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}
