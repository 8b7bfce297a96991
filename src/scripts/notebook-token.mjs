// The Jupyter token of `npm start`: where it comes from, what makes it acceptable, and how it
// reaches the server without ever appearing on a command line (`ps` shows argv to every user).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SetupError } from "./setup-error.mjs";

/** Shortest token accepted: 32 characters (a generated one is 48 hex digits, 192 bits). */
export const MIN_TOKEN_CHARS = 32;

/**
 * Check a token the user chose. An empty token would switch Jupyter's authentication off and a
 * short one can be guessed, so both are refused; so are spaces and control characters, which do
 * not survive a URL or a copy-paste.
 *
 * @param {string} token the candidate
 * @param {string} [where] where it came from, for the message
 * @returns {string} the token, unchanged
 * @example
 * checkToken("a".repeat(8)) // throws: MEMVIRT_TOKEN: too short (8 characters); ...
 */
export function checkToken(token, where = "MEMVIRT_TOKEN") {
  const how = `unset ${where} for a random one, or use e.g. \`openssl rand -hex 24\``;
  if (token.length === 0) {
    throw new SetupError(`${where}: empty; an empty token would turn Jupyter's authentication off (${how})`);
  }
  if (token.length < MIN_TOKEN_CHARS) {
    throw new SetupError(`${where}: too short (${token.length} characters); a token must have at least ${MIN_TOKEN_CHARS} so that it cannot be guessed (${how})`);
  }
  const bad = /[^\x21-\x7e]/u.exec(token);
  if (bad) {
    const code = bad[0].codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0");
    throw new SetupError(`${where}: character ${bad.index + 1} is U+${code}; a token must be printable ASCII without spaces, as it goes into a URL (${how})`);
  }
  return token;
}

/**
 * The token to serve with: `MEMVIRT_TOKEN` when set (and acceptable), else 24 random bytes in hex.
 *
 * @param {Record<string, string | undefined>} env usually `process.env`
 * @param {(size: number) => Buffer} [random] source of random bytes (tests pass a fixed one)
 * @returns {{ token: string, source: "MEMVIRT_TOKEN" | "generated" }}
 * @example
 * resolveToken({}).token.length // 48
 */
export function resolveToken(env, random = randomBytes) {
  const given = env.MEMVIRT_TOKEN;
  if (given !== undefined) return { token: checkToken(given), source: "MEMVIRT_TOKEN" };
  return { token: checkToken(random(24).toString("hex"), "generated token"), source: "generated" };
}

/**
 * Write the token to a fresh file only this user can read (a mode-0700 folder, a mode-0600 file,
 * no trailing newline: Notebook reads `JUPYTER_TOKEN_FILE` verbatim). Remove it with
 * {@link removeTokenFile} once the server has read it.
 *
 * @param {string} token a checked token
 * @param {string} [parent] where to make the folder (default the OS temp folder)
 * @returns {{ dir: string, file: string }}
 * @example
 * const { file, dir } = writeTokenFile(token); // give JUPYTER_TOKEN_FILE=file to the server
 */
export function writeTokenFile(token, parent = os.tmpdir()) {
  checkToken(token, "token");
  const dir = fs.mkdtempSync(path.join(parent, "memvirt-token-"));
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, "token");
  fs.writeFileSync(file, token, { mode: 0o600, flag: "wx" });
  return { dir, file };
}

/**
 * Delete a folder made by {@link writeTokenFile}; safe to call twice.
 *
 * @param {string} dir the folder
 * @example
 * removeTokenFile(dir);
 */
export function removeTokenFile(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}
