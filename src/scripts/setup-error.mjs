// An error `npm start` / `npm test` setup reports as one line and an exit code, never a stack.
// Plain JavaScript: setup runs before anything is built, so it cannot use src/util/errors.ts.

/** Exit code for a bad setting the user gave (an environment variable), as the CLI's usage errors. */
export const EXIT_USAGE = 2;

/**
 * A setup failure: `message` is one line naming the bad value and where it came from.
 *
 * @example
 * throw new SetupError("MEMVIRT_PORT: expected a port number 1-65535 (got \"http\")");
 */
export class SetupError extends Error {
  /**
   * @param {string} message one line, naming the bad value and its source
   * @param {number} [exitCode] process exit code (default 2, a user error)
   */
  constructor(message, exitCode = EXIT_USAGE) {
    super(message);
    this.name = "SetupError";
    this.exitCode = exitCode;
  }
}
