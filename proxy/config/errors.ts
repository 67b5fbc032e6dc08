// The single error type for bad command lines and bad config files, so main can print the message
// and exit non-zero without a stack trace (the message already names the flag or field at fault).

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
