/**
 * The two facts the guest image needs from ELF files, read without binutils or kmod:
 * a kernel module's `.modinfo` section (its `depends=` list, because Debian's kernel package
 * ships no modules.dep: depmod writes it at install time) and whether an executable is static
 * (no PT_INTERP), because the initramfs has no dynamic loader.
 */

function checkElf64(elf: Buffer, what: string): void {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what} is not an ELF file`);
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error(`${what} is not a 64-bit little-endian ELF file`);
}

/**
 * The `key=value` strings of a kernel module's `.modinfo` section, in order.
 *
 * @internal
 * @example
 * const info = readModinfo(fs.readFileSync("virtio_balloon.ko"), "virtio_balloon.ko");
 * info.find((s) => s.startsWith("depends=")) // "depends=virtio,virtio_ring"
 */
export function readModinfo(elf: Buffer, what = "module"): string[] {
  checkElf64(elf, what);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameAt = names.offset + s.name;
    const name = elf.toString("latin1", nameAt, elf.indexOf(0, nameAt));
    if (name === ".modinfo") {
      return elf.toString("utf8", s.offset, s.offset + s.size).split("\0").filter((x) => x !== "");
    }
  }
  throw new Error(`${what} has no .modinfo section: not a kernel module`);
}

/**
 * The module names a kernel module depends on (its `depends=` entry; empty when none).
 *
 * @internal
 * @example
 * moduleDepends(fs.readFileSync("virtio_pci.ko")) // ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"]
 */
export function moduleDepends(elf: Buffer, what = "module"): string[] {
  const line = readModinfo(elf, what).find((s) => s.startsWith("depends="));
  return line === undefined ? [] : line.slice("depends=".length).split(",").filter((x) => x !== "");
}

/**
 * True when an ELF executable needs no dynamic loader (it has no PT_INTERP program header).
 *
 * @internal
 * @example
 * isStaticExecutable(fs.readFileSync("/bin/busybox")) // true with busybox-static
 */
export function isStaticExecutable(elf: Buffer, what = "executable"): boolean {
  checkElf64(elf, what);
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  return true;
}
