// createBackends: the priority chain. nativelm when its binary starts and answers ping, else Ollama
// when reachable; at run time, when the active backend dies for good (nativelm's crash loop, or an
// unreachable server), the next available one takes over.
import { EventEmitter } from "node:events";

import { NativeLMError, isNativeLMError } from "./errors.js";
import { consoleLogger, type Logger } from "./logger.js";
import { NativeLMBackend, type NativeLMBackendOptions } from "./nativelm-backend.js";
import { OllamaBackend, type OllamaBackendOptions } from "./ollama-backend.js";
import type {
  AIBackend, CallOptions, ChatMessage, ChatResult, EmbeddingBackend, GenerateOptions, GenerateResult, LLMBackend,
  ModelInfo, PullOptions, StreamChunk,
} from "./types.js";

export interface CreateBackendsOptions {
  /** Options of the nativelm backend, or false to leave it out. */
  nativelm?: NativeLMBackendOptions | false;
  /** Options of the Ollama backend, or false to leave it out. */
  ollama?: OllamaBackendOptions | false;
  /** Backends tried after the built-in ones, in order. */
  extra?: AIBackend[];
  /** Default: console. Also given to the nativelm client unless its options name another. */
  logger?: Logger;
}

interface Candidate extends AIBackend {
  lastError?: Error | undefined;
}

function reasonOf(b: Candidate): string {
  return b.lastError?.message ?? "not available";
}

/**
 * The backends, as one EmbeddingBackend + LLMBackend that forwards every call to the active one.
 * Events: "switch" (from: string, to: string, reason: string), "unavailable" (reason: string).
 */
export class BackendChain extends EventEmitter implements AIBackend {
  private index: number;

  constructor(readonly backends: AIBackend[], active: number, private readonly logger: Logger) {
    super();
    this.index = active;
    for (const b of backends) {
      if (b instanceof NativeLMBackend) {
        b.client.on("failed", (e: NativeLMError) => {
          if (this.backends[this.index] === b) void this.switchFrom(b, e.message);
        });
      }
    }
  }

  /** The active backend. */
  get active(): AIBackend {
    return this.backends[this.index] as AIBackend;
  }

  get name(): string {
    return this.active.name;
  }

  /** The embedding side of the chain (the chain itself). */
  get embedding(): EmbeddingBackend {
    return this;
  }

  /** The LLM side of the chain (the chain itself). */
  get llm(): LLMBackend {
    return this;
  }

  isAvailable(): Promise<boolean> {
    return this.active.isAvailable();
  }

  embed(text: string, model?: string, options?: CallOptions): Promise<number[]>;
  embed(texts: string[], model?: string, options?: CallOptions): Promise<number[][]>;
  embed(input: string | string[], model?: string, options?: CallOptions): Promise<number[] | number[][]> {
    return this.withFallback((b) => b.embed(input as string[], model, options));
  }

  generate(prompt: string, options?: GenerateOptions): Promise<GenerateResult> {
    return this.withFallback((b) => b.generate(prompt, options));
  }

  generateStream(prompt: string, options?: GenerateOptions): AsyncIterable<StreamChunk> {
    return this.streamWithFallback((b) => b.generateStream(prompt, options));
  }

  chat(messages: ChatMessage[], options?: GenerateOptions): Promise<ChatResult> {
    return this.withFallback((b) => b.chat(messages, options));
  }

  chatStream(messages: ChatMessage[], options?: GenerateOptions): AsyncIterable<StreamChunk<ChatResult>> {
    return this.streamWithFallback((b) => b.chatStream(messages, options));
  }

  listModels(options?: CallOptions): Promise<ModelInfo[]> {
    return this.withFallback((b) => b.listModels(options));
  }

  pull(model: string, options?: PullOptions): Promise<void> {
    return this.withFallback((b) => b.pull(model, options));
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.close()));
  }

  /**
   * Moves to the next backend after `from` that is available; false when none is. Backends before
   * the active one are not tried again (a crash-looping engine stays off).
   */
  async switchFrom(from: AIBackend, reason: string): Promise<boolean> {
    const start = this.backends.indexOf(from);
    if (this.backends[this.index] !== from) return true;  // someone else already switched
    for (let i = start + 1; i < this.backends.length; ++i) {
      const next = this.backends[i] as Candidate;
      if (await next.isAvailable()) {
        if (this.backends[this.index] !== from) return true;
        this.index = i;
        this.logger.warn(`[backend] ${from.name} is down (${reason}); switched to ${next.name} - Active: ${next.name}`);
        this.emit("switch", from.name, next.name, reason);
        return true;
      }
      this.logger.warn(`[backend] ${next.name} unavailable: ${reasonOf(next)}`);
    }
    this.logger.error(`[backend] ${from.name} is down (${reason}) and no other backend is available`);
    this.emit("unavailable", reason);
    return false;
  }

  /** A call that never reached its backend ("engine_unavailable") is retried on the next one. */
  private async withFallback<T>(fn: (b: AIBackend) => Promise<T>): Promise<T> {
    for (;;) {
      const b = this.active;
      try {
        return await fn(b);
      } catch (e) {
        if (!isNativeLMError(e, "engine_unavailable") || !(await this.switchFrom(b, e.message)) || this.active === b) {
          throw e;
        }
      }
    }
  }

  private async *streamWithFallback<R extends GenerateResult>(
    fn: (b: AIBackend) => AsyncIterable<StreamChunk<R>>,
  ): AsyncGenerator<StreamChunk<R>> {
    for (;;) {
      const b = this.active;
      let started = false;
      try {
        for await (const chunk of fn(b)) {
          started = true;
          yield chunk;
        }
        return;
      } catch (e) {
        if (started || !isNativeLMError(e, "engine_unavailable") || !(await this.switchFrom(b, e.message)) ||
            this.active === b) {
          throw e;
        }
      }
    }
  }
}

/**
 * Starts the first backend that works — nativelm (its binary starts and answers ping), else Ollama
 * (its server answers) — and returns the chain. Throws NativeLMError("engine_unavailable") when none does.
 */
export async function createBackends(options: CreateBackendsOptions = {}): Promise<BackendChain> {
  const logger = options.logger ?? consoleLogger;
  const backends: Candidate[] = [];
  if (options.nativelm !== false) {
    backends.push(new NativeLMBackend({ ...options.nativelm, logger: options.nativelm?.logger ?? logger }));
  }
  if (options.ollama !== false) backends.push(new OllamaBackend(options.ollama || {}));
  backends.push(...(options.extra ?? []));
  const reasons: string[] = [];
  for (let i = 0; i < backends.length; ++i) {
    const b = backends[i] as Candidate;
    if (await b.isAvailable()) {
      // Backends before it are shut (a nativelm that did not start must not keep retrying).
      await Promise.all(backends.slice(0, i).map((x) => x.close()));
      const chain = new BackendChain(backends, i, logger);
      logger.info(`[backend] AI backends initialized successfully - Active: ${b.name}`);
      return chain;
    }
    reasons.push(`${b.name}: ${reasonOf(b)}`);
    logger.warn(`[backend] ${b.name} unavailable: ${reasonOf(b)}`);
  }
  await Promise.all(backends.map((b) => b.close()));
  throw new NativeLMError("engine_unavailable", `[backend] no AI backend available (${reasons.join("; ")})`);
}
