/**
 * User-facing errors: one line, with a position, and a documented exit code.
 * Anything else that escapes is a bug in cowlab.
 */

/** Exit codes of the `cowlab` command (docs/cli.md). */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_LIMIT = 3;
/** kselftest's KSFT_SKIP: nothing could be checked (diff: every scenario skipped) */
export const EXIT_SKIP = 4;
export const EXIT_INTERNAL = 70;

/** A position in an input file (1-based). */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

/** Bad input: a malformed scenario, configuration or argument. Exit code 2. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code = 'COWLAB_INPUT';
  constructor(
    message: string,
    readonly pos?: Pos,
  ) {
    super(message);
  }

  /** `file:line:col: message`, or just the message. */
  format(): string {
    return this.pos ? `${this.pos.file}:${this.pos.line}:${this.pos.col}: ${this.message}` : this.message;
  }
}

/** A configuration that does not apply to a profile: it needs an operation the kernel lacks (the explorer's setup). */
export class NotApplicable extends InputError {
  /** (InputError's name stays: the CLI reports it as bad input) */
  readonly notApplicable = true;
}
