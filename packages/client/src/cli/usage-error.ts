// The error for a command line kv cannot run: an unknown command or option, a missing or bad argument.

/** A mistake in the command line itself, found before any request is sent. kv exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  /**
   * @param message one line saying what is wrong, e.g. `unknown option '--foo'`
   * @param command the command's words (`get`, `admin keys create`), to point at its help
   */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}
