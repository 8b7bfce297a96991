import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkToken, MIN_TOKEN_CHARS, removeTokenFile, resolveToken, writeTokenFile } from "../../src/scripts/notebook-token.mjs";
import { SetupError } from "../../src/scripts/setup-error.mjs";

const GOOD = "0123456789abcdef0123456789abcdef"; // exactly 32

function thrown(f: () => unknown): SetupError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(SetupError);
    return error as SetupError;
  }
  throw new Error("expected a SetupError");
}

describe("checkToken", () => {
  it("refuses an empty token, which would turn authentication off, in one line with exit 2", () => {
    const error = thrown(() => checkToken(""));
    expect(error.message).toMatch(/^MEMVIRT_TOKEN: empty; an empty token would turn Jupyter's authentication off/);
    expect(error.message).not.toContain("\n");
    expect(error.exitCode).toBe(2);
  });

  it("refuses a token shorter than 32 characters and says the rule", () => {
    expect(MIN_TOKEN_CHARS).toBe(32);
    const error = thrown(() => checkToken(GOOD.slice(1)));
    expect(error.message).toContain("MEMVIRT_TOKEN: too short (31 characters); a token must have at least 32");
    expect(error.message).not.toContain(GOOD.slice(1)); // a secret is not echoed
  });

  it("accepts 32 printable characters", () => {
    expect(checkToken(GOOD)).toBe(GOOD);
  });

  it("refuses spaces and control characters, naming the position", () => {
    expect(thrown(() => checkToken(`${GOOD} x`)).message).toContain("character 33 is U+0020");
    expect(thrown(() => checkToken(`${GOOD}\n`)).message).toContain("character 33 is U+000A");
  });
});

describe("resolveToken", () => {
  it("refuses MEMVIRT_TOKEN set to the empty string instead of serving without authentication", () => {
    expect(() => resolveToken({ MEMVIRT_TOKEN: "" })).toThrow(/MEMVIRT_TOKEN: empty/);
  });

  it("takes MEMVIRT_TOKEN when it is long enough", () => {
    expect(resolveToken({ MEMVIRT_TOKEN: GOOD })).toEqual({ token: GOOD, source: "MEMVIRT_TOKEN" });
  });

  it("generates 24 random bytes as 48 hex digits when MEMVIRT_TOKEN is unset", () => {
    const fixed = (size: number) => Buffer.alloc(size, 0xab);
    expect(resolveToken({}, fixed)).toEqual({ token: "ab".repeat(24), source: "generated" });
    expect(resolveToken({}).token).toMatch(/^[0-9a-f]{48}$/);
    expect(resolveToken({}).token).not.toBe(resolveToken({}).token);
  });
});

describe("writeTokenFile", () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes exactly the token, without a newline, in a mode-0600 file in a mode-0700 folder", () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-test-"));
    made.push(parent);
    const { dir, file } = writeTokenFile(GOOD, parent);
    expect(fs.readFileSync(file, "utf8")).toBe(GOOD);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    removeTokenFile(dir);
    expect(fs.existsSync(dir)).toBe(false);
    removeTokenFile(dir); // twice is fine
  });

  it("refuses to write a token that would not pass checkToken", () => {
    expect(() => writeTokenFile("")).toThrow(/empty/);
  });
});
