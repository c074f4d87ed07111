// NativeLMBackend: the backend interfaces over a NativeLM process client.
import { NativeLM, type EngineRequest, type EngineResponse, type NativeLMOptions, type RequestOptions } from "./client.js";
import { NativeLMError } from "./errors.js";
import type {
  AIBackend, CallOptions, ChatMessage, ChatResult, GenerateOptions, GenerateResult, ModelInfo, PullOptions,
  StreamChunk, Usage,
} from "./types.js";

export interface NativeLMBackendOptions extends NativeLMOptions {
  /** Use this client instead of creating one (it is then not closed by close()). */
  client?: NativeLM;
  /** Model for embed() when the call names none. Default: the engine's default model. */
  embeddingModel?: string;
  /** Model for generate()/chat() when the call names none. Default: the engine's default model. */
  llmModel?: string;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

function usageOf(raw: Record<string, unknown>): Usage {
  const u = (typeof raw.usage === "object" && raw.usage !== null ? raw.usage : {}) as Record<string, unknown>;
  const promptTokens = num(u.prompt_tokens);
  const completionTokens = num(u.completion_tokens);
  const totalTokens = num(u.total_tokens) ??
    (promptTokens !== undefined && completionTokens !== undefined ? promptTokens + completionTokens : undefined);
  const out: Usage = {};
  if (promptTokens !== undefined) out.promptTokens = promptTokens;
  if (completionTokens !== undefined) out.completionTokens = completionTokens;
  if (totalTokens !== undefined) out.totalTokens = totalTokens;
  return out;
}

function toResult(raw: EngineResponse): GenerateResult {
  const r: GenerateResult = {
    text: typeof raw.text === "string" ? raw.text : "",
    finishReason: typeof raw.finish_reason === "string" ? raw.finish_reason : "stop",
    usage: usageOf(raw),
    raw,
  };
  if (typeof raw.model === "string") r.model = raw.model;
  if (Array.isArray(raw.tokens)) r.tokens = raw.tokens as number[];
  return r;
}

function toChatResult(raw: EngineResponse): ChatResult {
  const base = toResult(raw);
  const m = raw.message as Partial<ChatMessage> | undefined;
  const content = typeof m?.content === "string" ? m.content : base.text;
  return { ...base, text: content, message: { role: m?.role ?? "assistant", content } };
}

export class NativeLMBackend implements AIBackend {
  readonly name = "nativelm";
  readonly client: NativeLM;
  /** Why the last isAvailable() said false. */
  lastError: Error | undefined;
  private readonly ownsClient: boolean;

  constructor(private readonly options: NativeLMBackendOptions = {}) {
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new NativeLM(options);
  }

  async isAvailable(): Promise<boolean> {
    try {
      await this.client.start();
      await this.client.ping({ timeoutMs: this.options.startTimeoutMs ?? 30000 });
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
    const request: EngineRequest = { command: "embed", ...(Array.isArray(input) ? { texts: input } : { text: input }) };
    const m = model ?? this.options.embeddingModel;
    if (m !== undefined) request.model = m;
    const r = await this.client.request(request, options);
    if (!Array.isArray(r.embeddings)) throw new NativeLMError("protocol_error", "[nativelm] embed answered without 'embeddings'");
    return r.embeddings as number[] | number[][];
  }

  async generate(prompt: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    return toResult(await this.run(this.generationRequest("generate", { prompt }, options), options));
  }

  generateStream(prompt: string, options: GenerateOptions = {}): AsyncIterable<StreamChunk> {
    return this.streamChunks(this.generationRequest("generate", { prompt }, options), options, toResult);
  }

  async chat(messages: ChatMessage[], options: GenerateOptions = {}): Promise<ChatResult> {
    return toChatResult(await this.run(this.generationRequest("chat", { messages }, options), options));
  }

  chatStream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncIterable<StreamChunk<ChatResult>> {
    return this.streamChunks(this.generationRequest("chat", { messages }, options), options, toChatResult);
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    const r = await this.client.request({ command: "models" }, options);
    const list = Array.isArray(r.models) ? (r.models as Record<string, unknown>[]) : [];
    return list.map((m) => {
      const info: ModelInfo = { name: String(m.name ?? m.model ?? m.id ?? ""), raw: m };
      const size = num(m.size) ?? num(m.size_bytes);
      if (size !== undefined) info.size = size;
      return info;
    });
  }

  async pull(model: string, options: PullOptions = {}): Promise<void> {
    const req: RequestOptions = { ...options };
    if (options.onProgress) {
      const onProgress = options.onProgress;
      req.onEvent = (e) => {
        if (e.event !== "progress") return;
        const p: Parameters<typeof onProgress>[0] = {};
        if (typeof e.file === "string") p.file = e.file;
        if (typeof e.status === "string") p.status = e.status;
        const completed = num(e.completed);
        const total = num(e.total);
        if (completed !== undefined) p.completed = completed;
        if (total !== undefined) p.total = total;
        onProgress(p);
      };
    }
    await this.client.request({ command: "pull", model }, req);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  private generationRequest(command: string, body: Record<string, unknown>, o: GenerateOptions): EngineRequest {
    const request: EngineRequest = { command, ...body };
    const model = o.model ?? this.options.llmModel;
    if (model !== undefined) request.model = model;
    if (o.maxTokens !== undefined) request.max_tokens = o.maxTokens;
    if (o.temperature !== undefined) request.temperature = o.temperature;
    if (o.topP !== undefined) request.top_p = o.topP;
    if (o.topK !== undefined) request.top_k = o.topK;
    if (o.seed !== undefined) request.seed = o.seed;
    if (o.stop !== undefined) request.stop = o.stop;
    return { ...request, ...o.extra };
  }

  /** Runs a generation to its end; with onToken, streams and reports each piece. */
  private run(request: EngineRequest, o: GenerateOptions): Promise<EngineResponse> {
    const call: RequestOptions = {};
    if (o.signal) call.signal = o.signal;
    if (o.timeoutMs !== undefined) call.timeoutMs = o.timeoutMs;
    if (!o.onToken) return this.client.request(request, call);
    const onToken = o.onToken;
    call.onEvent = (e) => {
      if (e.event === "token" && typeof e.text === "string") onToken(e.text);
    };
    return this.client.request({ ...request, stream: true }, call);
  }

  private async *streamChunks<R extends GenerateResult>(
    request: EngineRequest, o: GenerateOptions, finish: (raw: EngineResponse) => R,
  ): AsyncGenerator<StreamChunk<R>> {
    const call: RequestOptions = {};
    if (o.signal) call.signal = o.signal;
    if (o.timeoutMs !== undefined) call.timeoutMs = o.timeoutMs;
    const stream = this.client.stream(request, call);
    for await (const e of stream) {
      // Lines already buffered when the caller aborted are dropped: the stream ends with 'cancelled'.
      if (o.signal?.aborted) break;
      if (e.event !== "token" || typeof e.text !== "string") continue;
      o.onToken?.(e.text);
      const chunk: StreamChunk<R> = { done: false, text: e.text };
      if (typeof e.token === "number") chunk.token = e.token;
      yield chunk;
    }
    yield { done: true, text: "", result: finish(await stream.result) };
  }
}
