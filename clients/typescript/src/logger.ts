// The logger the client writes to: console-shaped, so `console` itself (the default) or the app's
// own logger (electron-log, pino, winston…) fits.

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLogger: Logger = {
  debug: (m) => console.debug(m),
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** Forwards one line of the engine's stderr ("nativelm <level>: …") at its own level. */
export function forwardEngineLog(logger: Logger, line: string): void {
  const m = /^nativelm (debug|info|warn|error): /.exec(line);
  const text = `[nativelm] ${m ? line.slice(m[0].length) : line}`;
  switch (m?.[1]) {
    case "debug":
      logger.debug(text);
      break;
    case "info":
      logger.info(text);
      break;
    case "error":
      logger.error(text);
      break;
    default:
      logger.warn(text);  // "warn", and anything unformatted (a crash report, a sanitizer)
  }
}
