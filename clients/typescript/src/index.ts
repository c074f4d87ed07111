// nativelm: the Node client of the nativelm engine, with an Ollama fallback.
export { NativeLM } from "./client.js";
export type {
  EngineEvent, EngineRequest, EngineResponse, ExitInfo, NativeLMOptions, NativeLMState, RequestOptions, RequestStream,
} from "./client.js";
export { NativeLMBackend } from "./nativelm-backend.js";
export type { NativeLMBackendOptions } from "./nativelm-backend.js";
export { OllamaBackend } from "./ollama-backend.js";
export type { OllamaBackendOptions } from "./ollama-backend.js";
export { BackendChain, createBackends } from "./backends.js";
export type { CreateBackendsOptions } from "./backends.js";
export {
  CLIENT_ERROR_CODES, NativeLMError, PROTOCOL_ERROR_CODES, isNativeLMError,
} from "./errors.js";
export type { ClientErrorCode, NativeLMErrorCode, NativeLMErrorOptions, ProtocolErrorCode } from "./errors.js";
export { binaryCandidates, resolveBinary } from "./binary.js";
export { consoleLogger, silentLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export type * from "./types.js";
