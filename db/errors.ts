/** An error the CLI maps to an exit code and prints as one line. */
export class KeytrailError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'KeytrailError';
  }
}

/** Bad flags, bad arguments, or a feature that is not available: exit 2. */
export class UsageError extends KeytrailError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
