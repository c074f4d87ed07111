// The backend interfaces the app codes against (the seed app's shape), and their option and result
// types. NativeLMBackend and OllamaBackend implement both interfaces.

export interface CallOptions {
  /** Aborting stops the request (the engine is told to cancel) and rejects with code "cancelled". */
  signal?: AbortSignal;
  /** Rejects with code "timeout" (and stops the request) after this many ms. */
  timeoutMs?: number;
}

export interface EmbeddingBackend {
  readonly name: string;
  /** True when the backend answers now (nativelm: starts and pongs; Ollama: /api/tags answers). */
  isAvailable(): Promise<boolean>;
  /** One text → one vector; several texts → one vector each, in order. */
  embed(text: string, model?: string, options?: CallOptions): Promise<number[]>;
  embed(texts: string[], model?: string, options?: CallOptions): Promise<number[][]>;
}

export interface GenerateOptions extends CallOptions {
  /** The model; absent: the backend's default (nativelm: its embedded default model). */
  model?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: string[];
  /** Called with each piece of text as it is generated (the call still resolves with the whole result). */
  onToken?: (text: string) => void;
  /** Extra request fields passed through as they are (nativelm: protocol fields; Ollama: body fields). */
  extra?: Record<string, unknown>;
}

export type FinishReason = "stop" | "length" | "cancelled" | (string & {});

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

export interface GenerateResult {
  text: string;
  model?: string;
  finishReason: FinishReason;
  /** Generated token ids, where the backend reports them (nativelm). */
  tokens?: number[];
  usage: Usage;
  /** The backend's final answer as it came (protocol line or Ollama's last object). */
  raw: Record<string, unknown>;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | (string & {});
  content: string;
}

export interface ChatResult extends GenerateResult {
  message: ChatMessage;
}

/** One piece of a streamed answer; the last one has done: true, an empty text, and the result. */
export type StreamChunk<R extends GenerateResult = GenerateResult> =
  | { done: false; text: string; token?: number }
  | { done: true; text: ""; result: R };

export interface LLMBackend {
  readonly name: string;
  isAvailable(): Promise<boolean>;
  generate(prompt: string, options?: GenerateOptions): Promise<GenerateResult>;
  generateStream(prompt: string, options?: GenerateOptions): AsyncIterable<StreamChunk>;
  chat(messages: ChatMessage[], options?: GenerateOptions): Promise<ChatResult>;
  chatStream(messages: ChatMessage[], options?: GenerateOptions): AsyncIterable<StreamChunk<ChatResult>>;
}

export interface PullProgress {
  /** nativelm: the file being fetched; Ollama: the layer digest or status. */
  file?: string;
  status?: string;
  completed?: number;
  total?: number;
}

export interface PullOptions extends CallOptions {
  onProgress?: (progress: PullProgress) => void;
}

export interface ModelInfo {
  name: string;
  size?: number;
  raw: Record<string, unknown>;
}

/** Model management, where the backend has it. */
export interface ModelManager {
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  pull(model: string, options?: PullOptions): Promise<void>;
}

/** A backend that embeds, generates and manages models, and can be shut down. */
export interface AIBackend extends EmbeddingBackend, LLMBackend, ModelManager {
  close(): Promise<void>;
}
