// Typed errors. `code` is one of the engine's protocol codes (src/core/status.cpp), or one of the
// client's own codes for what happens around the engine (it died, it could not start, a timeout…).

/** The error codes the engine sends in `{"success":false,"code":…}`. */
export const PROTOCOL_ERROR_CODES = [
  "invalid_json",
  "invalid_request",
  "unknown_command",
  "model_not_found",
  "model_load_failed",
  "input_too_long",
  "cancelled",
  "overloaded",
  "template_error",
  "download_failed",
  "unauthorized",
  "io_error",
  "unsupported",
  "internal",
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** Codes the client raises itself. */
export const CLIENT_ERROR_CODES = [
  /** The engine process exited (crashed or was killed) while the request was in flight. */
  "engine_exited",
  /** No engine could be started (binary missing, start failed, crash loop) or the backend is unreachable. */
  "engine_unavailable",
  /** The request took longer than its timeout; the engine was told to cancel it. */
  "timeout",
  /** The client was closed. */
  "closed",
  /** The engine (or Ollama server) answered something the client cannot read. */
  "protocol_error",
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export type NativeLMErrorCode = ProtocolErrorCode | ClientErrorCode;

export interface NativeLMErrorOptions {
  /** The request id the error is about, when there is one. */
  requestId?: unknown;
  /** The backend that raised it ("nativelm", "ollama"). */
  backend?: string;
  /** HTTP status, for the Ollama backend. */
  status?: number;
  cause?: unknown;
}

export class NativeLMError extends Error {
  readonly code: NativeLMErrorCode;
  readonly requestId?: unknown;
  readonly backend?: string;
  readonly status?: number;

  constructor(code: NativeLMErrorCode, message: string, options: NativeLMErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NativeLMError";
    this.code = code;
    if (options.requestId !== undefined) this.requestId = options.requestId;
    if (options.backend !== undefined) this.backend = options.backend;
    if (options.status !== undefined) this.status = options.status;
  }
}

export function isNativeLMError(value: unknown, code?: NativeLMErrorCode): value is NativeLMError {
  return value instanceof NativeLMError && (code === undefined || value.code === code);
}

/** Maps a code string from the wire to a known code ("internal" for anything unknown). */
export function toErrorCode(code: unknown): NativeLMErrorCode {
  if (typeof code === "string") {
    if ((PROTOCOL_ERROR_CODES as readonly string[]).includes(code)) return code as ProtocolErrorCode;
    if ((CLIENT_ERROR_CODES as readonly string[]).includes(code)) return code as ClientErrorCode;
  }
  return "internal";
}
