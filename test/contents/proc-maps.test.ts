import { describe, expect, it } from "vitest";
import { mappingKindOfPath } from "../../src/contents/mapping-kind";
import { parseProcMaps } from "../../src/contents/proc-maps";

describe("/proc/PID/maps", () => {
  it("names each mapping's kind from its path", () => {
    expect(["", "[heap]", "[stack]", "[stack:1234]", "[vdso]", "[vvar]", "[vsyscall]", "/usr/lib/libc.so.6", "/dev/zero (deleted)", "/memfd:jit (deleted)"].map(mappingKindOfPath))
      .toEqual(["anon", "heap", "stack", "stack", "other", "other", "other", "file", "file", "file"]);
  });

  it("parses addresses beyond 2^53, paths with spaces, and anonymous lines", () => {
    const text = [
      "55d0c8a00000-55d0c8a21000 r--p 00000000 fd:01 1234                       /usr/bin/python3.11",
      "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ",
      "7ffc1000-7ffc3000 rw-s 00000000 00:05 7        /home/me/my file.bin",
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
      "",
    ].join("\n");
    expect(parseProcMaps(text, "maps")).toEqual([
      { startAddress: 0x55d0c8a00000n, endAddress: 0x55d0c8a21000n, perms: "r--p", path: "/usr/bin/python3.11", kind: "file" },
      { startAddress: 0x7f0000000000n, endAddress: 0x7f0000021000n, perms: "rw-p", path: "", kind: "anon" },
      { startAddress: 0x7ffc1000n, endAddress: 0x7ffc3000n, perms: "rw-s", path: "/home/me/my file.bin", kind: "file" },
      { startAddress: 0xffffffffff600000n, endAddress: 0xffffffffff601000n, perms: "--xp", path: "[vsyscall]", kind: "other" },
    ]);
  });

  it("refuses a line that is not a mapping, with FILE:LINE and the line", () => {
    expect(() => parseProcMaps("00400000-00401000 r-xp 00000000 08:01 42 /bin/x\nhello\n", "/proc/7/maps")).toThrow('/proc/7/maps:2: not a /proc/PID/maps line (got "hello")');
  });
});
