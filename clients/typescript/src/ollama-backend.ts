// OllamaBackend: the backend interfaces over Ollama's HTTP API (/api/embed, /api/generate,
// /api/chat, /api/tags, /api/pull; NDJSON when streaming).
import { NativeLMError, type NativeLMErrorCode } from "./errors.js";
import type {
  AIBackend, CallOptions, ChatMessage, ChatResult, GenerateOptions, GenerateResult, ModelInfo, PullOptions,
  StreamChunk, Usage,
} from "./types.js";

export interface OllamaBackendOptions {
  /** Default http://127.0.0.1:11434 (or $OLLAMA_HOST when set). */
  baseUrl?: string;
  /** Model for embed() when the call names none. Default "nomic-embed-text". */
  embeddingModel?: string;
  /** Model for generate()/chat() when the call names none. Default "llama3.2". */
  llmModel?: string;
  /** Default timeout of a call in ms (0: none). Default 0. */
  requestTimeoutMs?: number;
  /** How long isAvailable() waits for /api/tags. Default 2000. */
  availabilityTimeoutMs?: number;
}

type Obj = Record<string, unknown>;

function defaultBaseUrl(): string {
  const host = process.env.OLLAMA_HOST;
  if (!host) return "http://127.0.0.1:11434";
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

function codeForStatus(status: number, message: string): NativeLMErrorCode {
  if (status === 404 || /not found/i.test(message)) return "model_not_found";
  if (status === 400 || status === 422) return "invalid_request";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 429 || status === 503) return "overloaded";
  return "internal";
}

/** A signal that fires on the caller's abort or the deadline, and the typed error for each. */
class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private error: NativeLMError | undefined;

  constructor(private readonly what: string, options: CallOptions, defaultTimeoutMs: number) {
    this.signal = this.controller.signal;
    const outer = options.signal;
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    if (outer?.aborted) this.onAbort(outer.reason);
    else outer?.addEventListener("abort", () => this.onAbort(outer.reason), { once: true, signal: this.signal });
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => this.stop(new NativeLMError("timeout",
        `[ollama] ${what} timed out after ${timeoutMs} ms`, { backend: "ollama" })), timeoutMs);
    }
  }

  private onAbort(reason: unknown): void {
    this.stop(new NativeLMError("cancelled", `[ollama] ${this.what} was cancelled`, { backend: "ollama", cause: reason }));
  }

  private stop(error: NativeLMError): void {
    this.error ??= error;
    this.controller.abort(error);
  }

  /** Ends the deadline (and detaches from the caller's signal). */
  dispose(): void {
    clearTimeout(this.timer);
    if (!this.signal.aborted) this.controller.abort();
  }

  /** The typed error for something fetch or a body read threw. */
  translate(e: unknown, baseUrl: string): NativeLMError {
    if (this.error) return this.error;
    if (e instanceof NativeLMError) return e;
    const msg = e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}` : String(e);
    return new NativeLMError("engine_unavailable", `[ollama] ${this.what}: cannot reach ${baseUrl} (${msg})`,
      { backend: "ollama", cause: e });
  }
}

export class OllamaBackend implements AIBackend {
  readonly name = "ollama";
  readonly baseUrl: string;
  lastError: Error | undefined;
  private readonly embeddingModel: string;
  private readonly llmModel: string;
  private readonly timeoutMs: number;
  private readonly availabilityTimeoutMs: number;

  constructor(options: OllamaBackendOptions = {}) {
    this.baseUrl = (options.baseUrl ?? defaultBaseUrl()).replace(/\/+$/, "");
    this.embeddingModel = options.embeddingModel ?? "nomic-embed-text";
    this.llmModel = options.llmModel ?? "llama3.2";
    this.timeoutMs = options.requestTimeoutMs ?? 0;
    this.availabilityTimeoutMs = options.availabilityTimeoutMs ?? 2000;
  }

  async isAvailable(): Promise<boolean> {
    try {
      await this.call("GET", "/api/tags", undefined, { timeoutMs: this.availabilityTimeoutMs });
      this.lastError = undefined;
      return true;
    } catch (e) {
      this.lastError = e instanceof Error ? e : new Error(String(e));
      return false;
    }
  }

  embed(text: string, model?: string, options?: CallOptions): Promise<number[]>;
  embed(texts: string[], model?: string, options?: CallOptions): Promise<number[][]>;
  async embed(input: string | string[], model?: string, options: CallOptions = {}): Promise<number[] | number[][]> {
    const r = await this.call("POST", "/api/embed", { model: model ?? this.embeddingModel, input }, options);
    const embeddings = r.embeddings;
    if (!Array.isArray(embeddings)) throw this.protocolError("/api/embed answered without 'embeddings'");
    return Array.isArray(input) ? (embeddings as number[][]) : (embeddings[0] as number[]);
  }

  async generate(prompt: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.collect(this.generateStream(prompt, options));
  }

  generateStream(prompt: string, options: GenerateOptions = {}): AsyncIterable<StreamChunk> {
    const body = this.body({ prompt }, options);
    return this.streamChunks("/api/generate", body, options, (line) => String(line.response ?? ""),
      (text, last) => ({ ...this.result(text, last) }));
  }

  async chat(messages: ChatMessage[], options: GenerateOptions = {}): Promise<ChatResult> {
    return this.collect(this.chatStream(messages, options));
  }

  chatStream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<StreamChunk<ChatResult>> {
    const body = this.body({ messages }, options);
    const contentOf = (line: Obj) => String((line.message as Obj | undefined)?.content ?? "");
    return this.streamChunks("/api/chat", body, options, contentOf, (text, last) => {
      const role = String((last.message as Obj | undefined)?.role ?? "assistant");
      return { ...this.result(text, last), message: { role, content: text } };
    });
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    const r = await this.call("GET", "/api/tags", undefined, options);
    const list = Array.isArray(r.models) ? (r.models as Obj[]) : [];
    return list.map((m) => {
      const info: ModelInfo = { name: String(m.name ?? m.model ?? ""), raw: m };
      if (typeof m.size === "number") info.size = m.size;
      return info;
    });
  }

  async pull(model: string, options: PullOptions = {}): Promise<void> {
    const deadline = new Deadline(`pull ${model}`, options, this.timeoutMs);
    try {
      let last: Obj | undefined;
      for await (const line of this.ndjson("/api/pull", { model, stream: true }, deadline)) {
        last = line;
        const p: Parameters<NonNullable<PullOptions["onProgress"]>>[0] = {};
        if (typeof line.status === "string") p.status = line.status;
        if (typeof line.digest === "string") p.file = line.digest;
        if (typeof line.completed === "number") p.completed = line.completed;
        if (typeof line.total === "number") p.total = line.total;
        options.onProgress?.(p);
      }
      if (last?.status !== "success") throw this.protocolError(`/api/pull ended without success`, "download_failed");
    } catch (e) {
      throw deadline.translate(e, this.baseUrl);
    } finally {
      deadline.dispose();
    }
  }

  async close(): Promise<void> {}

  private body(fields: Obj, o: GenerateOptions): Obj {
    const opts: Obj = {};
    if (o.maxTokens !== undefined) opts.num_predict = o.maxTokens;
    if (o.temperature !== undefined) opts.temperature = o.temperature;
    if (o.topP !== undefined) opts.top_p = o.topP;
    if (o.topK !== undefined) opts.top_k = o.topK;
    if (o.seed !== undefined) opts.seed = o.seed;
    if (o.stop !== undefined) opts.stop = o.stop;
    return { model: o.model ?? this.llmModel, ...fields, stream: true, options: opts, ...o.extra };
  }

  private result(text: string, last: Obj): GenerateResult {
    const usage: Usage = {};
    if (typeof last.prompt_eval_count === "number") usage.promptTokens = last.prompt_eval_count;
    if (typeof last.eval_count === "number") usage.completionTokens = last.eval_count;
    if (usage.promptTokens !== undefined && usage.completionTokens !== undefined) {
      usage.totalTokens = usage.promptTokens + usage.completionTokens;
    }
    const r: GenerateResult = { text, finishReason: String(last.done_reason ?? "stop"), usage, raw: last };
    if (typeof last.model === "string") r.model = last.model;
    return r;
  }

  private async collect<R extends GenerateResult>(stream: AsyncIterable<StreamChunk<R>>): Promise<R> {
    for await (const chunk of stream) {
      if (chunk.done) return chunk.result;
    }
    throw this.protocolError("the stream ended without a final object");
  }

  private async *streamChunks<R extends GenerateResult>(
    path: string, body: Obj, o: GenerateOptions, pieceOf: (line: Obj) => string, finish: (text: string, last: Obj) => R,
  ): AsyncGenerator<StreamChunk<R>> {
    const deadline = new Deadline(`${path} (${String(body.model)})`, o, this.timeoutMs);
    let text = "";
    try {
      for await (const line of this.ndjson(path, body, deadline)) {
        const piece = pieceOf(line);
        if (piece) {
          text += piece;
          o.onToken?.(piece);
          yield { done: false, text: piece };
        }
        if (line.done === true) {
          yield { done: true, text: "", result: finish(text, line) };
          return;
        }
      }
    } catch (e) {
      throw deadline.translate(e, this.baseUrl);
    } finally {
      deadline.dispose();
    }
    throw this.protocolError(`${path} ended without a final object ("done": true)`);
  }

  /** POSTs `body` and yields each object of the NDJSON answer; an {"error"} object throws. */
  private async *ndjson(path: string, body: Obj, deadline: Deadline): AsyncGenerator<Obj> {
    const res = await this.fetchOk("POST", path, body, deadline.signal);
    if (!res.body) throw this.protocolError(`${path} answered without a body`);
    const decoder = new TextDecoder();
    let buf = "";
    const parse = (line: string): Obj | undefined => {
      if (!line.trim()) return undefined;
      let obj: Obj;
      try {
        obj = JSON.parse(line) as Obj;
      } catch {
        throw this.protocolError(`${path} sent a line that is not JSON: ${line.slice(0, 200)}`);
      }
      if (typeof obj.error === "string") throw new NativeLMError(codeForStatus(200, obj.error), `[ollama] ${obj.error}`, { backend: "ollama" });
      return obj;
    };
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const obj = parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (deadline.signal.aborted) throw deadline.signal.reason;  // nothing more after a cancel or timeout
        if (obj) yield obj;
      }
    }
    const rest = parse(buf + decoder.decode());
    if (rest) yield rest;
  }

  /** One request with a JSON answer. */
  private async call(method: string, path: string, body: Obj | undefined, options: CallOptions): Promise<Obj> {
    const deadline = new Deadline(`${method} ${path}`, options, this.timeoutMs);
    try {
      const res = await this.fetchOk(method, path, body, deadline.signal);
      const text = await res.text();
      try {
        return JSON.parse(text) as Obj;
      } catch {
        throw this.protocolError(`${path} answered with something that is not JSON: ${text.slice(0, 200)}`);
      }
    } catch (e) {
      throw deadline.translate(e, this.baseUrl);
    } finally {
      deadline.dispose();
    }
  }

  private async fetchOk(method: string, path: string, body: Obj | undefined, signal: AbortSignal): Promise<Response> {
    const init: RequestInit = { method, signal };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    }
    const res = await fetch(this.baseUrl + path, init);
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let message = text.slice(0, 500) || res.statusText;
    try {
      const j = JSON.parse(text) as Obj;
      if (typeof j.error === "string") message = j.error;
    } catch {
      // not JSON: keep the text
    }
    throw new NativeLMError(codeForStatus(res.status, message), `[ollama] ${method} ${path}: HTTP ${res.status}: ${message}`,
      { backend: "ollama", status: res.status });
  }

  private protocolError(message: string, code: NativeLMErrorCode = "protocol_error"): NativeLMError {
    return new NativeLMError(code, `[ollama] ${message}`, { backend: "ollama" });
  }
}
