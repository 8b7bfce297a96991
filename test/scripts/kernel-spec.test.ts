import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkoutJupyterPath,
  describeKernelChange,
  memvirtKernelSpec,
  registerKernelSpec,
  servedKernel,
  specCheckout,
  withCheckoutJupyterPath,
} from "../../src/scripts/kernel-spec.mjs";

const text = (root: string) => `${JSON.stringify(memvirtKernelSpec(root, "/usr/bin/node"), null, 2)}\n`;

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-kernel-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("memvirtKernelSpec", () => {
  it("runs the checkout's tslab and records the checkout it serves", () => {
    const spec = memvirtKernelSpec("/a", "/usr/bin/node");
    expect(spec.argv.slice(0, 2)).toEqual(["/usr/bin/node", "/a/node_modules/tslab/bin/tslab"]);
    expect(specCheckout(JSON.stringify(spec))).toBe("/a");
    expect(specCheckout("not json")).toBeUndefined();
  });
});

describe("describeKernelChange", () => {
  it("says plainly when the kernel is new or unchanged for this checkout", () => {
    expect(describeKernelChange(undefined, text("/b"), "/b", "F").status).toBe("new");
    const same = describeKernelChange(text("/b"), text("/b"), "/b", "F");
    expect(same.status).toBe("unchanged");
    expect(same.lines).toEqual(['kernel "memvirt": registered (F), serving this checkout (/b)']);
  });

  it("calls a change within the same checkout an update (e.g. another node)", () => {
    const change = describeKernelChange(text("/b").replace("/usr/bin/node", "/opt/node"), text("/b"), "/b", "F");
    expect(change.status).toBe("updated");
  });

  it("prints loudly which checkout the kernel served before and which it serves now", () => {
    const change = describeKernelChange(text("/a"), text("/b"), "/b", "/data/kernels/memvirt/kernel.json");
    expect(change.status).toBe("repointed");
    expect(change.previousCheckout).toBe("/a");
    const all = change.lines.join("\n");
    expect(all).toContain("served another checkout: /a");
    expect(all).toContain("now serves THIS checkout: /b");
    expect(all).toContain("/data/kernels/memvirt/kernel.json");
    expect(change.lines[0]).toMatch(/^!{20,}$/);
  });

  it("shows the replaced kernel.json when memvirt setup did not write it", () => {
    const change = describeKernelChange('{"argv":["python3"]}', text("/b"), "/b", "F");
    expect(change.status).toBe("foreign");
    expect(change.lines.join("\n")).toContain('{"argv":["python3"]}');
  });
});

describe("registerKernelSpec", () => {
  it("writes kernels/memvirt/kernel.json, then reports the takeover when another checkout registers", () => {
    const first = registerKernelSpec(tmp, "/a", "/usr/bin/node");
    expect(first.status).toBe("new");
    expect(first.file).toBe(path.join(tmp, "kernels", "memvirt", "kernel.json"));
    expect(registerKernelSpec(tmp, "/a", "/usr/bin/node").status).toBe("unchanged");
    const second = registerKernelSpec(tmp, "/b", "/usr/bin/node");
    expect(second.status).toBe("repointed");
    expect(second.previousCheckout).toBe("/a");
    expect(specCheckout(fs.readFileSync(second.file, "utf8"))).toBe("/b");
    expect(fs.existsSync(`${second.file}.tmp`)).toBe(false);
  });
});

describe("withCheckoutJupyterPath", () => {
  it("puts the checkout's own data folder first, once, before what JUPYTER_PATH had", () => {
    const own = checkoutJupyterPath("/a");
    expect(own).toBe("/a/node_modules/.memvirt-jupyter");
    expect(withCheckoutJupyterPath("/a", undefined)).toBe(own);
    expect(withCheckoutJupyterPath("/a", `/x${path.delimiter}${own}`)).toBe(`${own}${path.delimiter}/x`);
  });
});

describe("servedKernel", () => {
  it("names the checkout of the first kernelspec along the data folders, the one Jupyter takes", () => {
    const own = path.join(tmp, "own");
    const global = path.join(tmp, "global");
    registerKernelSpec(global, "/a");
    registerKernelSpec(own, "/b");
    const served = servedKernel([own, global], "/b");
    expect(served).toEqual({ ok: true, line: `kernel "memvirt" serves this checkout: /b (${path.join(own, "kernels", "memvirt")})` });
  });

  it("warns when the kernel Jupyter takes serves another checkout", () => {
    registerKernelSpec(tmp, "/a");
    const served = servedKernel([path.join(tmp, "missing"), tmp], "/b");
    expect(served.ok).toBe(false);
    expect(served.line).toContain("serves another checkout, /a, not this checkout /b");
  });

  it("warns when there is no kernel memvirt at all", () => {
    expect(servedKernel([tmp], "/b")).toMatchObject({ ok: false, line: expect.stringContaining('finds no kernel "memvirt"') });
  });
});
