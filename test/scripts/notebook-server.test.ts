import { EventEmitter } from "node:events";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkoutJupyterPath } from "../../src/scripts/kernel-spec.mjs";
import {
  authenticationProblem,
  checkAuthentication,
  notebookServerLaunch,
  notebookUrl,
  parsePort,
  parseServerInfo,
  runtimeDirProblem,
  startNotebookServer,
  stopChild,
  waitForServerInfo,
} from "../../src/scripts/notebook-server.mjs";
import { SetupError } from "../../src/scripts/setup-error.mjs";

const TOKEN = "c0ffee".repeat(8);
const FAKE_BIN = path.join(__dirname, "fixtures", "fake-jupyter");

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-server-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** An HTTP server on a free 127.0.0.1 port; `handler` decides the status. */
async function listen(handler: http.RequestListener = (_req, res) => res.end()): Promise<http.Server & { port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("parsePort", () => {
  it("defaults to 8888 and refuses what is not a port, naming MEMVIRT_PORT", () => {
    expect(parsePort(undefined)).toBe(8888);
    expect(parsePort("8890")).toBe(8890);
    for (const bad of ["", "0", "65536", "88a", "-1", "8888 "]) expect(() => parsePort(bad)).toThrow(/^MEMVIRT_PORT: expected a port number 1-65535/);
  });
});

describe("notebookServerLaunch", () => {
  const base = { root: "/work/x", port: 8888, tokenFile: "/tmp/t/token", token: TOKEN, isRoot: false };

  it("keeps the token off the command line: it goes only as a file path in JUPYTER_TOKEN_FILE", () => {
    const launch = notebookServerLaunch({ ...base, baseEnv: { PATH: "/bin" } });
    expect(launch.command).toBe("jupyter-notebook");
    expect([launch.command, ...launch.argv].join(" ")).not.toContain(TOKEN);
    expect(launch.argv.some((a) => /token/i.test(a))).toBe(false);
    expect(launch.env.JUPYTER_TOKEN_FILE).toBe("/tmp/t/token");
    expect(Object.values(launch.env).join("\n")).not.toContain(TOKEN);
  });

  it("listens on 127.0.0.1 only, on the port asked for, serving the checkout's notebooks/", () => {
    const { argv } = notebookServerLaunch({ ...base, baseEnv: {} });
    expect(argv).toContain("--ip=127.0.0.1");
    expect(argv).toContain("--port=8888");
    expect(argv).toContain("--notebook-dir=/work/x/notebooks");
  });

  it("passes --allow-root only when running as root", () => {
    expect(notebookServerLaunch({ ...base, baseEnv: {} }).argv).not.toContain("--allow-root");
    expect(notebookServerLaunch({ ...base, isRoot: true, baseEnv: {} }).argv).toContain("--allow-root");
  });

  it("drops JUPYTER_TOKEN (it would win over the file) and MEMVIRT_TOKEN (kernels would inherit it)", () => {
    const { env } = notebookServerLaunch({ ...base, baseEnv: { JUPYTER_TOKEN: "", MEMVIRT_TOKEN: TOKEN, HOME: "/root" } });
    expect(env).not.toHaveProperty("JUPYTER_TOKEN");
    expect(env).not.toHaveProperty("MEMVIRT_TOKEN");
    expect(env.HOME).toBe("/root");
  });

  it("puts the checkout's own kernelspec folder first on JUPYTER_PATH", () => {
    const { env } = notebookServerLaunch({ ...base, baseEnv: { JUPYTER_PATH: "/elsewhere" } });
    expect(env.JUPYTER_PATH).toBe(`${checkoutJupyterPath("/work/x")}${path.delimiter}/elsewhere`);
  });

  it("refuses to build a launch without a token file or a token", () => {
    expect(() => notebookServerLaunch({ ...base, tokenFile: "", baseEnv: {} })).toThrow(SetupError);
    expect(() => notebookServerLaunch({ ...base, token: "", baseEnv: {} })).toThrow(SetupError);
  });

  it("refuses a launch whose argv would carry the token", () => {
    expect(() => notebookServerLaunch({ ...base, root: `/home/${TOKEN}`, baseEnv: {} })).toThrow(/token ended up in Jupyter's argv/);
  });
});

describe("runtimeDirProblem", () => {
  it("flags a runtime folder other users can read, since Jupyter writes the token there", () => {
    fs.chmodSync(tmp, 0o755);
    expect(runtimeDirProblem(tmp)).toBe(`Jupyter's runtime folder ${tmp} is open to other users (mode 0755), and Jupyter writes the token into it; run \`chmod 700 ${tmp}\``);
    fs.chmodSync(tmp, 0o700);
    expect(runtimeDirProblem(tmp)).toBeUndefined();
    expect(runtimeDirProblem(path.join(tmp, "missing"))).toBeUndefined();
  });
});

describe("parseServerInfo", () => {
  it("reads the port the server really bound", () => {
    const text = JSON.stringify({ port: 8889, pid: 42, base_url: "/", hostname: "127.0.0.1", token: TOKEN });
    expect(parseServerInfo(text, 42)).toEqual({ port: 8889, hostname: "127.0.0.1", baseUrl: "/", token: TOKEN, pid: 42 });
  });

  it("refuses another process's file and a file without a port", () => {
    expect(() => parseServerInfo(JSON.stringify({ port: 8889, pid: 41 }), 42)).toThrow(/pid 41, not 42/);
    expect(() => parseServerInfo(JSON.stringify({ pid: 42 }), 42)).toThrow(/without a port/);
  });
});

describe("notebookUrl", () => {
  it("names the real port and carries the token, URL-encoded", () => {
    expect(notebookUrl({ port: 8889, token: "a+b/c" })).toBe("http://127.0.0.1:8889/tree?token=a%2Bb%2Fc");
    expect(notebookUrl({ port: 9000, baseUrl: "/lab/", token: TOKEN })).toBe(`http://127.0.0.1:9000/lab/tree?token=${TOKEN}`);
  });
});

describe("waitForServerInfo", () => {
  function fakeChild(pid: number): ChildProcess {
    return Object.assign(new EventEmitter(), { pid, exitCode: null, signalCode: null }) as unknown as ChildProcess;
  }

  it("resolves with the port from nbserver-<pid>.json once it is complete", async () => {
    const child = fakeChild(4242);
    const file = path.join(tmp, "nbserver-4242.json");
    setTimeout(() => fs.writeFileSync(file, '{"port": 88'), 30); // half-written first
    setTimeout(() => fs.writeFileSync(file, JSON.stringify({ port: 18999, pid: 4242, base_url: "/" })), 120);
    const info = await waitForServerInfo({ runtimeDir: tmp, child, pollMs: 10 });
    expect(info.port).toBe(18999);
  });

  it("ignores another server's runtime file", async () => {
    fs.writeFileSync(path.join(tmp, "nbserver-1.json"), JSON.stringify({ port: 8888, pid: 1 }));
    await expect(waitForServerInfo({ runtimeDir: tmp, child: fakeChild(2), timeoutMs: 100, pollMs: 10 })).rejects.toThrow(/did not report its port within 0.1s/);
  });

  it("fails as soon as the server exits before serving", async () => {
    const child = fakeChild(4243);
    setTimeout(() => child.emit("exit", 3, null), 20);
    const error = await waitForServerInfo({ runtimeDir: tmp, child, pollMs: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupError);
    expect((error as SetupError).message).toContain("exited (exit 3) before it served");
    expect((error as SetupError).exitCode).toBe(3);
  });
});

describe("checkAuthentication and authenticationProblem", () => {
  it("passes a server that accepts the token in a header and refuses a request without it", async () => {
    const seen: string[] = [];
    const server = await listen((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? "-"}`);
      res.statusCode = req.headers.authorization === `token ${TOKEN}` ? 200 : 403;
      res.end();
    });
    try {
      const statuses = await checkAuthentication({ port: server.port, baseUrl: "/", token: TOKEN });
      expect(statuses).toEqual({ withToken: 200, withoutToken: 403 });
      expect(authenticationProblem(statuses, server.port)).toBeUndefined();
      expect(seen).toEqual([`/api/status token ${TOKEN}`, "/api/status -"]); // never in the URL
    } finally {
      await close(server);
    }
  });

  it("flags a server that answers without the token (authentication off)", async () => {
    const server = await listen();
    try {
      const statuses = await checkAuthentication({ port: server.port, baseUrl: "/", token: TOKEN });
      expect(authenticationProblem(statuses, server.port)).toMatch(/answered a request without the token \(HTTP 200\): authentication is off/);
    } finally {
      await close(server);
    }
  });

  it("flags a server that refuses memvirt's token", () => {
    expect(authenticationProblem({ withToken: 403, withoutToken: 403 }, 8888)).toMatch(/refused memvirt's token \(HTTP 403\)/);
    expect(authenticationProblem({ withToken: 200, withoutToken: 302 }, 8888)).toBeUndefined();
  });
});

// The whole start, against the stand-in Notebook in fixtures/fake-jupyter (same token file,
// runtime file and port-moving behaviour as Notebook 6.4; the real one is checked by hand).
describe("startNotebookServer", () => {
  function env(mode = "ok") {
    const runtime = path.join(tmp, "runtime");
    fs.mkdirSync(runtime, { mode: 0o700 });
    return {
      PATH: `${FAKE_BIN}${path.delimiter}${process.env.PATH}`,
      FAKE_JUPYTER_MODE: mode,
      FAKE_JUPYTER_RUNTIME: runtime,
      FAKE_JUPYTER_DATA: path.join(tmp, "data"),
      FAKE_JUPYTER_RECORD: path.join(tmp, "record.json"),
      MEMVIRT_TOKEN: TOKEN,
      JUPYTER_TOKEN: "",
    };
  }
  /** The start's error; should it succeed instead, the server is stopped first and the test fails. */
  async function startError(options: Parameters<typeof startNotebookServer>[0]): Promise<SetupError> {
    let started: Awaited<ReturnType<typeof startNotebookServer>>;
    try {
      started = await startNotebookServer(options);
    } catch (error) {
      expect(error).toBeInstanceOf(SetupError);
      return error as SetupError;
    }
    await stopChild(started.child);
    throw new Error(`the server started on port ${started.port}, but should not have`);
  }
  const record = () => JSON.parse(fs.readFileSync(path.join(tmp, "record.json"), "utf8"));
  let root: string; // a checkout: the server runs in it
  beforeEach(() => {
    root = path.join(tmp, "checkout");
    fs.mkdirSync(root);
  });

  it("prints the URL of the port the server really bound when the asked port is taken", async () => {
    const squatter = await listen((_req, res) => {
      res.statusCode = 200; // a squatter that would happily take a token
      res.end();
    });
    try {
      const started = await startNotebookServer({ root, port: squatter.port, token: TOKEN, isRoot: false, baseEnv: env() });
      try {
        expect(started.port).not.toBe(squatter.port);
        expect(started.url).toBe(`http://127.0.0.1:${started.port}/tree?token=${TOKEN}`);
        const served = await checkAuthentication({ port: started.port, baseUrl: "/", token: TOKEN });
        expect(served).toEqual({ withToken: 200, withoutToken: 403 });
      } finally {
        await stopChild(started.child);
      }
    } finally {
      await close(squatter);
    }
  });

  it("hands the token over in a 0600 file that is gone once the server runs, never in argv or the environment", async () => {
    const free = await listen();
    await close(free);
    const started = await startNotebookServer({ root, port: free.port, token: TOKEN, isRoot: true, baseEnv: env() });
    try {
      const seen = record();
      expect(seen.argv.join(" ")).not.toContain(TOKEN);
      expect(seen.argv).toContain("--allow-root");
      expect(Object.values(seen.env).join("\n")).not.toContain(TOKEN);
      expect(seen.env).not.toHaveProperty("MEMVIRT_TOKEN");
      expect(seen.tokenFileMode).toBe(0o600);
      expect(seen.tokenDirMode).toBe(0o700);
      expect(fs.existsSync(seen.env.JUPYTER_TOKEN_FILE)).toBe(false);
      expect(started.port).toBe(free.port);
      expect(started.kernel.line).toContain('finds no kernel "memvirt"');
    } finally {
      await stopChild(started.child);
    }
  });

  it("stops a server that answers without the token and reports it", async () => {
    const e = env("open");
    expect((await startError({ root, port: 18000, token: TOKEN, isRoot: false, baseEnv: e })).message).toMatch(/answered a request without the token/);
    expect(fs.readdirSync(e.FAKE_JUPYTER_RUNTIME)).toEqual([]); // stopped: it removed its runtime file
  });

  it("stops a server that serves with a token of its own", async () => {
    expect((await startError({ root, port: 18000, token: TOKEN, isRoot: false, baseEnv: env("own-token") })).message).toMatch(/with a token other than memvirt's/);
  });

  it("fails with the server's exit code when it dies before serving, and removes the token file", async () => {
    expect((await startError({ root, port: 18000, token: TOKEN, isRoot: false, baseEnv: env("exit") })).exitCode).toBe(3);
    expect(fs.existsSync(record().env.JUPYTER_TOKEN_FILE)).toBe(false);
  });

  it("refuses a runtime folder open to other users before starting anything", async () => {
    const e = env();
    fs.chmodSync(e.FAKE_JUPYTER_RUNTIME, 0o755);
    expect((await startError({ root, port: 18000, token: TOKEN, isRoot: false, baseEnv: e })).message).toMatch(/open to other users \(mode 0755\)/);
    expect(fs.existsSync(e.FAKE_JUPYTER_RECORD)).toBe(false);
  });
});
