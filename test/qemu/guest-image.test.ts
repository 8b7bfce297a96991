/**
 * The guest image: what its initramfs holds (read back from the built archive), the module
 * load order against each module's own dependencies, the cache and its invalidation, and the
 * one-line errors for a missing busybox or kernel package. Builds with Debian's packages, as
 * `npm test`'s setup installs them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { readCpioNewc, type CpioReadEntry } from "../../src/qemu/cpio-newc";
import { isStaticExecutable, moduleDepends, readModinfo } from "../../src/qemu/elf-modinfo";
import { buildGuestImage, checkBusybox, writeGuestDisk, type GuestImage } from "../../src/qemu/guest-image";
import { aptListsKey, decompressModule, findKernelDeb } from "../../src/qemu/kernel-package";

/** The checkout's cached image (what setup built and guests boot). */
let cached: GuestImage;
/** A fresh build by this code (the cached one may predate it), from the same kernel .deb. */
let image: GuestImage;
let imageEnv: NodeJS.ProcessEnv;
let archive: CpioReadEntry[];
const temps: string[] = [];
function temp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-image-"));
  temps.push(d);
  return d;
}

beforeAll(() => {
  cached = buildGuestImage();
  imageEnv = { ...process.env, MEMVIRT_KERNEL_DEB: cached.manifest.kernel.deb };
  image = buildGuestImage({ dir: path.join(temp(), "image"), env: imageEnv, force: true });
  archive = readCpioNewc(zlib.gunzipSync(fs.readFileSync(image.initrdPath)));
}, 300_000);
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

const entry = (name: string) => archive.find((e) => e.name === name);
const TYPE = 0o170000;

describe("the guest image's initramfs", () => {
  it("holds busybox-static itself, its applet links, /dev/console and an executable /init", () => {
    expect(entry("bin/busybox")!.data.equals(fs.readFileSync(image.manifest.busybox.path))).toBe(true);
    expect(isStaticExecutable(entry("bin/busybox")!.data)).toBe(true);
    // What /init runs, wherever busybox --list-full puts it.
    for (const applet of ["bin/sh", "sbin/insmod", "bin/dd", "usr/bin/mkfifo", "usr/bin/awk", "bin/mount"]) {
      expect(entry(applet)?.mode! & TYPE, applet).toBe(0o120000);
      expect(entry(applet)!.data.toString(), applet).toBe("/bin/busybox");
    }
    expect(entry("dev/console")!.mode).toBe(0o020600);
    const init = entry("init")!;
    expect(init.mode).toBe(0o100755);
    expect(init.data.toString()).toMatch(/^#!\/bin\/sh\n/);
    // Folders come before what they hold.
    const index = (n: string) => archive.findIndex((e) => e.name === n);
    expect(index("bin")).toBeLessThan(index("bin/busybox"));
    expect(index("lib/modules")).toBeLessThan(index("lib/modules/virtio_ring.ko"));
  });

  it("holds the virtio modules in dependency order, and /init loads them in that order", () => {
    const modules = archive.filter((e) => e.name.startsWith("lib/modules/") && e.name.endsWith(".ko"));
    const names = modules.map((e) => path.basename(e.name, ".ko"));
    expect(names).toEqual(expect.arrayContaining(["virtio_ring", "virtio", "virtio_pci", "virtio_balloon", "virtio_blk"]));
    expect(names[0]).toBe("virtio_ring");
    modules.forEach((m, i) => {
      const name = path.basename(m.name, ".ko");
      expect(readModinfo(m.data, m.name)).toContain(`name=${name}`);
      for (const dep of moduleDepends(m.data, m.name)) {
        const at = names.indexOf(dep);
        expect(at, `${name} needs ${dep} loaded first`).toBeGreaterThanOrEqual(0);
        expect(at, `${name} needs ${dep} loaded first`).toBeLessThan(i);
      }
    });
    expect(image.manifest.modules).toEqual(names.map((n) => `${n}.ko`));
    expect(entry("init")!.data.toString()).toContain(`for m in ${names.map((n) => `${n}.ko`).join(" ")}; do`);
  });
});

describe("the guest image's kernel and record", () => {
  it("is Debian's kernel from the recorded package, with busybox's version", () => {
    const kernel = fs.readFileSync(image.kernelPath);
    expect(kernel.toString("latin1", 0x202, 0x206)).toBe("HdrS"); // a bzImage
    const deb = image.manifest.kernel.deb;
    expect(execFileSync("dpkg-deb", ["-f", deb, "Package"], { encoding: "utf8" }).trim()).toBe(image.manifest.kernel.package);
    expect(execFileSync("dpkg-deb", ["-f", deb, "Version"], { encoding: "utf8" }).trim()).toBe(image.manifest.kernel.version);
    expect(image.manifest.kernel.package).toMatch(/^linux-image-[0-9].*-amd64$/);
    expect(image.manifest.busybox.version).toMatch(/^v1\./);
    expect(fs.statSync(image.diskPath).size).toBe(image.manifest.diskMiB * 1024 * 1024);
  });

  it("is reused while its inputs are unchanged", () => {
    expect(image.built).toBe(true);
    const again = buildGuestImage({ dir: image.dir, env: imageEnv });
    expect(again.built).toBe(false);
    expect(again.manifest).toEqual(image.manifest);
    expect(buildGuestImage().manifest.inputsSha256).toBe(cached.manifest.inputsSha256);
  });

  it("builds once when several processes find it stale at once; the others wait and reuse it", () => {
    const dir = path.join(temp(), "image");
    const script = `const { buildGuestImage } = require(${JSON.stringify(path.resolve(__dirname, "../../src/qemu/guest-image.ts"))});
      process.stdout.write(String(buildGuestImage({ dir: ${JSON.stringify(dir)} }).built));`;
    const run = () => new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { env: imageEnv, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", () => resolve(out));
    });
    return Promise.all([run(), run(), run()]).then((results) => {
      expect(results.sort()).toEqual(["false", "false", "true"]);
      expect(fs.existsSync(path.join(dir, ".build-lock"))).toBe(false);
    });
  }, 120_000);

  it("asks apt which kernel package only when apt's lists changed (apt-cache takes most of a second)", () => {
    const debs = temp();
    // A remembered answer naming a package apt would not: finding it proves apt was not asked.
    fs.symlinkSync(image.manifest.kernel.deb, path.join(debs, "linux-image-memo-test_1_amd64.deb"));
    fs.writeFileSync(path.join(debs, "apt-kernel.json"), JSON.stringify({ key: aptListsKey(), package: "linux-image-memo-test" }));
    const env = { ...process.env };
    delete env.MEMVIRT_KERNEL_DEB;
    expect(findKernelDeb(debs, env).file).toBe(path.join(debs, "linux-image-memo-test_1_amd64.deb"));
    // Once the lists change, the memo is ignored and apt's answer is used (and remembered).
    fs.writeFileSync(path.join(debs, "apt-kernel.json"), JSON.stringify({ key: "lists before apt-get update", package: "linux-image-memo-test" }));
    fs.symlinkSync(image.manifest.kernel.deb, path.join(debs, path.basename(image.manifest.kernel.deb)));
    expect(findKernelDeb(debs, env).package).toBe(image.manifest.kernel.package);
    expect(JSON.parse(fs.readFileSync(path.join(debs, "apt-kernel.json"), "utf8")).package).toBe(image.manifest.kernel.package);
  });

  it("is rebuilt when an input changes (here busybox's bytes)", () => {
    const dir = temp();
    const bb = path.join(dir, "busybox");
    fs.copyFileSync(image.manifest.busybox.path, bb);
    fs.chmodSync(bb, 0o755);
    const env = { ...process.env, MEMVIRT_KERNEL_DEB: image.manifest.kernel.deb, MEMVIRT_BUSYBOX: bb };
    const imageDir = image.dir;
    const first = buildGuestImage({ dir: imageDir, env });
    expect(first.built).toBe(false); // busybox's path is not an input, its bytes are
    fs.appendFileSync(bb, Buffer.from([0])); // still a static ELF, different bytes
    const second = buildGuestImage({ dir: imageDir, env });
    expect(second.built).toBe(true);
    expect(second.manifest.busybox.sha256).toBe(createHash("sha256").update(fs.readFileSync(bb)).digest("hex"));
    expect(second.manifest.inputsSha256).not.toBe(first.manifest.inputsSha256);
    const inside = readCpioNewc(zlib.gunzipSync(fs.readFileSync(second.initrdPath))).find((e) => e.name === "bin/busybox")!;
    expect(inside.data.equals(fs.readFileSync(bb))).toBe(true);
  }, 120_000);
});

describe("guest image errors", () => {
  it("names a missing busybox and what to install", () => {
    expect(() => buildGuestImage({ dir: temp(), env: { ...process.env, MEMVIRT_BUSYBOX: "/nonexistent/busybox" } }))
      .toThrow("guest image: busybox not found; install Debian's busybox-static (npm test/npm start do this as root) (got \"/nonexistent/busybox\")");
  });

  it("refuses a dynamically linked busybox (the initramfs has no libraries)", () => {
    expect(() => checkBusybox(process.execPath)).toThrow(/busybox is not statically linked .* install Debian's busybox-static/);
  });

  it("names a kernel package that is not there or not a kernel", () => {
    const notDeb = path.join(temp(), "x.deb");
    fs.writeFileSync(notDeb, "not a deb");
    expect(() => buildGuestImage({ dir: temp(), env: { ...process.env, MEMVIRT_KERNEL_DEB: "/nonexistent/k.deb" } }))
      .toThrow('MEMVIRT_KERNEL_DEB: no such kernel .deb (got "/nonexistent/k.deb")');
    expect(() => buildGuestImage({ dir: temp(), env: { ...process.env, MEMVIRT_KERNEL_DEB: notDeb } }))
      .toThrow(/MEMVIRT_KERNEL_DEB: not a Debian package/);
  });
});

describe("the ELF readers", () => {
  it("tell a static executable from a dynamic one, and a module from a program", () => {
    expect(isStaticExecutable(fs.readFileSync(image.manifest.busybox.path))).toBe(true);
    expect(isStaticExecutable(fs.readFileSync(process.execPath))).toBe(false);
    expect(() => readModinfo(fs.readFileSync(image.manifest.busybox.path), "busybox")).toThrow(/no .modinfo section/);
    expect(() => readModinfo(Buffer.from("#!/bin/sh\n".padEnd(80)), "init")).toThrow(/not an ELF file/);
  });
});

describe("writeGuestDisk", () => {
  it("writes the same non-zero, page-distinct bytes every time", () => {
    const dir = temp();
    writeGuestDisk(path.join(dir, "a"), 1);
    writeGuestDisk(path.join(dir, "b"), 1);
    const a = fs.readFileSync(path.join(dir, "a"));
    expect(a.equals(fs.readFileSync(path.join(dir, "b")))).toBe(true);
    expect(a.length).toBe(1024 * 1024);
    const pages = new Set<string>();
    for (let p = 0; p < 256; p++) {
      const page = a.subarray(p * 4096, (p + 1) * 4096);
      expect(page.some((b) => b !== 0)).toBe(true);
      pages.add(createHash("sha256").update(page).digest("hex"));
    }
    expect(pages.size).toBe(256);
    // The image's own disk starts with the same bytes.
    expect(fs.readFileSync(image.diskPath).subarray(0, a.length).equals(a)).toBe(true);
  });
});

describe("decompressModule", () => {
  const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
  const check = (ext: string, compress: (file: string) => void) => {
    const ko = path.join(temp(), "virtio.ko");
    const plain = archive.find((e) => e.name === "lib/modules/virtio.ko")!.data;
    fs.writeFileSync(ko, plain);
    compress(ko);
    expect(decompressModule(`${ko}.${ext}`).equals(plain)).toBe(true);
  };
  it("gives a .ko.gz module's plain ELF bytes", () => check("gz", (f) => fs.writeFileSync(`${f}.gz`, zlib.gzipSync(fs.readFileSync(f)))));
  const skipNote = (tool: string) => (has(tool) ? "" : ` (skipped: no ${tool} here)`);
  it.skipIf(!has("xz"))(`gives a .ko.xz module's plain ELF bytes${skipNote("xz")}`, () => check("xz", (f) => execFileSync("xz", ["-k", f])));
  it.skipIf(!has("zstd"))(`gives a .ko.zst module's plain ELF bytes${skipNote("zstd")}`, () => check("zst", (f) => execFileSync("zstd", ["-q", "-k", f])));
});
