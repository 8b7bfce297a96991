/**
 * `QmpClient`: a small client for QEMU's machine protocol (QMP) over a unix socket.
 *
 *   connect ──▶ greeting {"QMP": {version, capabilities}} ──▶ {"execute":"qmp_capabilities"}
 *           ──▶ execute(cmd, args) … each answered by {"return": …} or {"error": {class, desc}}
 *   asynchronous {"event": …} lines may arrive at any time: they are collected in `events`
 *
 * QEMU serves one QMP client per socket at a time: a second client connects but gets no
 * greeting until the first leaves, so a greeting that never comes is reported as such.
 * Every failure is a one-line MemvirtError naming the socket (`where`, default `--qmp`):
 * not a socket, missing, nothing listening, no greeting in time, QEMU's own error text
 * (`pmemsave: Could not open '…'`), or the connection closing under a command.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { MemvirtError } from "../util/errors";
import { describeFsError } from "../util/output-file";

/** Options of `QmpClient.connect`. */
export interface QmpConnectOptions {
  /** How long to wait for the connection and QEMU's greeting (default 5000 ms). */
  timeoutMs?: number;
  /** What to name in errors (default "--qmp"); the socket path is given as the value. */
  where?: string;
  /** The longest answer line accepted (default 16 MiB; QEMU's longest, `info mtree -f`, is KiBs). */
  maxLineBytes?: number;
}

/** Options of one `execute`. */
export interface QmpExecuteOptions {
  /** How long to wait for the answer (default 120,000 ms: a pmemsave of GiBs takes a while). */
  timeoutMs?: number;
}

/** An asynchronous QMP event (e.g. BALLOON_CHANGE, STOP, SHUTDOWN). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU's version from the greeting. */
export interface QmpVersion {
  major: number;
  minor: number;
  micro: number;
  /** The distribution's package string, e.g. "Debian 1:7.2+dfsg-7+deb12u18". */
  package: string;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A connected QMP session; make one with `QmpClient.connect`, end it with `close`. */
export class QmpClient {
  /** The socket path. */
  readonly socketPath: string;
  /** QEMU's version, from the greeting. */
  readonly version: QmpVersion;
  /** Asynchronous events received so far, in order (`takeEvents` empties it). */
  readonly events: QmpEvent[] = [];
  private readonly socket: net.Socket;
  private readonly where: string;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private buffered = "";
  private readonly maxLineBytes: number;
  private closedWhy: string | undefined;

  private constructor(socket: net.Socket, socketPath: string, where: string, version: QmpVersion, rest: string, maxLineBytes: number) {
    this.socket = socket;
    this.maxLineBytes = maxLineBytes;
    this.socketPath = socketPath;
    this.where = where;
    this.version = version;
    socket.on("data", (chunk: Buffer) => this.onData(chunk.toString("utf8")));
    socket.on("close", () => this.onClose());
    socket.on("error", () => { /* reported through close */ });
    if (rest !== "") this.onData(rest);
  }

  /**
   * Connect to the QMP socket at `socketPath`, read the greeting and leave capabilities
   * negotiation, ready for `execute`. One line naming the path when it is missing, not a
   * socket, refuses the connection, or gives no greeting within `timeoutMs`.
   *
   * @example
   * const qmp = await QmpClient.connect("/tmp/guest.qmp");
   * try { console.log(await qmp.execute("query-status")); } finally { qmp.close(); }
   */
  static async connect(socketPath: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const where = options.where ?? "--qmp";
    const timeoutMs = options.timeoutMs ?? 5000;
    const fail = (problem: string): never => {
      throw new MemvirtError(problem, { where, value: socketPath });
    };
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(socketPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") fail("no such socket; start QEMU with -qmp unix:PATH,server=on,wait=off");
      fail(`cannot reach the socket: ${describeFsError(err)}`);
    }
    if (!stat!.isSocket()) fail(`is not a unix socket (${stat!.isDirectory() ? "a directory" : stat!.isFile() ? "a regular file" : "not a socket"}); give the path of QEMU's -qmp unix:PATH,server=on socket`);

    const socket = net.createConnection({ path: socketPath });
    let text = "";
    try {
      const greeting = await new Promise<{ version: QmpVersion; rest: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new MemvirtError(`no QMP greeting within ${timeoutMs / 1000} s (is it QEMU's QMP socket? QEMU serves one client at a time: is another connected?)`, { where, value: socketPath })), timeoutMs);
        const done = (f: () => void) => { clearTimeout(timer); socket.removeAllListeners("data"); socket.removeAllListeners("error"); socket.removeAllListeners("close"); f(); };
        socket.on("error", (err: NodeJS.ErrnoException) => done(() => reject(new MemvirtError(
          err.code === "ECONNREFUSED" ? "nothing is listening on the socket (QEMU has exited, or the socket is stale)"
            : err.code === "EACCES" ? "permission denied on the socket (it belongs to another user)"
              : `cannot connect: ${describeFsError(err)}`, { where, value: socketPath }))));
        socket.on("close", () => done(() => reject(new MemvirtError("the socket closed before QEMU's greeting (not a QMP socket?)", { where, value: socketPath }))));
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
          const nl = text.indexOf("\n");
          if (nl < 0) {
            if (text.length > 65536) done(() => reject(new MemvirtError("the socket does not speak QMP (no greeting line)", { where, value: socketPath })));
            return;
          }
          const line = text.slice(0, nl);
          let parsed: { QMP?: { version?: { qemu?: { major: number; minor: number; micro: number }; package?: string } } } | undefined;
          try { parsed = JSON.parse(line); } catch { /* checked below */ }
          const qemu = parsed?.QMP?.version?.qemu;
          if (parsed?.QMP === undefined) {
            done(() => reject(new MemvirtError(`the socket does not speak QMP (its first line is ${JSON.stringify(line.slice(0, 60))})`, { where, value: socketPath })));
            return;
          }
          const version = { major: qemu?.major ?? 0, minor: qemu?.minor ?? 0, micro: qemu?.micro ?? 0, package: String(parsed.QMP.version?.package ?? "").trim() };
          done(() => resolve({ version, rest: text.slice(nl + 1) }));
        });
      });
      const client = new QmpClient(socket, socketPath, where, greeting.version, greeting.rest, options.maxLineBytes ?? 16 * 2 ** 20);
      await client.execute("qmp_capabilities", undefined, { timeoutMs });
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /**
   * Run a QMP command and resolve with its `return` value. QEMU's `error` becomes a one-line
   * MemvirtError naming the socket, the command and QEMU's own description.
   *
   * @example
   * const { "base-memory": bytes } = await qmp.execute<{ "base-memory": number }>("query-memory-size-summary");
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: QmpExecuteOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new MemvirtError(`cannot run ${command}: ${this.closedWhy ?? "the QMP connection is closed"}`, { where: this.where, value: this.socketPath }));
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new MemvirtError(`QEMU did not answer ${command} within ${timeoutMs / 1000} s`, { where: this.where, value: this.socketPath }));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })}\n`);
    });
  }

  /**
   * The events received so far, removing them from `events`.
   *
   * @example
   * qmp.takeEvents().filter((e) => e.event === "BALLOON_CHANGE")
   */
  takeEvents(): QmpEvent[] {
    return this.events.splice(0);
  }

  /**
   * Close the connection (QEMU keeps running). Commands still waiting are rejected.
   *
   * @example
   * qmp.close();
   */
  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onClose();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line !== "") this.onMessage(line);
    }
    // A peer that never ends its line is not QEMU: do not buffer it without end.
    if (this.buffered.length > this.maxLineBytes) {
      this.buffered = "";
      this.socket.destroy();
      this.onClose(`the socket sent a line of more than ${this.maxLineBytes} bytes, which no QMP answer is`);
    }
  }

  private onMessage(line: string): void {
    let msg: { id?: number; return?: unknown; error?: { class?: string; desc?: string }; event?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not JSON: nothing a command waits for
    }
    if (typeof msg.event === "string") {
      this.events.push(msg as QmpEvent);
      return;
    }
    const waiting = typeof msg.id === "number" ? this.pending.get(msg.id) : undefined;
    if (waiting === undefined) return;
    this.pending.delete(msg.id!);
    clearTimeout(waiting.timer);
    if (msg.error !== undefined) {
      const desc = String(msg.error.desc ?? msg.error.class ?? "unknown error").replace(/\s*\n\s*/g, " ");
      waiting.reject(new MemvirtError(`QEMU refused ${waiting.command}: ${desc}`, { where: this.where, value: this.socketPath }));
    } else {
      waiting.resolve(msg.return);
    }
  }

  private onClose(why?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWhy = why;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new MemvirtError(why !== undefined ? `${why} (during ${p.command})` : `the QMP connection closed during ${p.command} (did QEMU exit?)`, { where: this.where, value: this.socketPath }));
    }
  }
}

/**
 * Why other local users can reach the QMP socket at `socketPath` (connecting needs write
 * permission on it, and QMP can read all guest memory and run monitor commands), or undefined
 * when only its owner can: QEMU makes the socket with the umask it was started under.
 *
 * @example
 * qmpSocketExposure("/tmp/guest.qmp") // "it is writable by its group (mode 0775) in a folder the group can enter"
 */
export function qmpSocketExposure(socketPath: string): string | undefined {
  let mode: number;
  let dirMode: number;
  try {
    mode = fs.statSync(socketPath).mode & 0o777;
    dirMode = fs.statSync(path.dirname(path.resolve(socketPath))).mode & 0o777;
  } catch {
    return undefined; // connect reports a missing socket
  }
  // A socket in a folder others cannot enter (0700, like memvirt's state folder) is out of reach.
  const octal = `0${mode.toString(8)}`;
  if (mode & 0o002 && dirMode & 0o001) return `it is writable by every user (mode ${octal}) in a folder they can enter`;
  if (mode & 0o020 && dirMode & 0o010) return `it is writable by its group (mode ${octal}) in a folder the group can enter`;
  return undefined;
}

/**
 * Connect, run `fn` with the client, and close it whatever happens.
 *
 * @example
 * const status = await withQmp("/tmp/guest.qmp", (qmp) => qmp.execute("query-status"));
 */
export async function withQmp<T>(socketPath: string, fn: (qmp: QmpClient) => Promise<T>, options: QmpConnectOptions = {}): Promise<T> {
  const qmp = await QmpClient.connect(socketPath, options);
  try {
    return await fn(qmp);
  } finally {
    qmp.close();
  }
}
