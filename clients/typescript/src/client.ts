// NativeLM: the process client. Spawns `nativelm serve`, numbers requests, matches the lines that
// come back, applies timeouts and cancellation, restarts the engine after a crash (what was in
// flight fails at once) and shuts it down with the app.
import { EventEmitter } from "node:events";

import { resolveBinary } from "./binary.js";
import { EngineProcess, describeExit, type EngineEvent, type EngineResponse, type ExitInfo } from "./engine-process.js";
import { NativeLMError } from "./errors.js";
import { consoleLogger, type Logger } from "./logger.js";
import { AsyncQueue } from "./queue.js";

export type { EngineEvent, EngineResponse, ExitInfo } from "./engine-process.js";

export interface NativeLMOptions {
  /** Path of the `nativelm` binary. Default: $NATIVELM_BIN, next to the package, then PATH. */
  binaryPath?: string;
  /** Extra `nativelm serve` arguments, e.g. ["--threads", "4"]. */
  args?: string[];
  /** Variables added to the engine's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Receives the engine's stderr and the client's own messages. Default: console. */
  logger?: Logger;
  /** Default timeout of a request, in ms (0: none). Default 0. */
  requestTimeoutMs?: number;
  /** How long a start may take, spawn to pong, in ms. Default 30000. */
  startTimeoutMs?: number;
  /** Restart the engine after it crashes. Default true. */
  autoRestart?: boolean;
  /** Crashes (or failed restarts) tolerated within restartWindowMs before giving up. Default 3. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** Wait before the first restart, doubled for each one after it (at most 5 s). Default 250. */
  restartDelayMs?: number;
  /** close(): how long the engine may take to exit after `shutdown` before it is killed. Default 5000. */
  shutdownTimeoutMs?: number;
}

export interface RequestOptions {
  /** Aborting sends `cancel` to the engine and rejects with code "cancelled". */
  signal?: AbortSignal;
  /** Overrides requestTimeoutMs; on expiry the engine is told to cancel and the request rejects with "timeout". */
  timeoutMs?: number;
  /** Receives each event line (`{"event":"token",…}`) before the final line. */
  onEvent?: (event: EngineEvent) => void;
}

/** An engine request: "command" plus its fields ("id" is added by the client). */
export interface EngineRequest {
  command: string;
  [field: string]: unknown;
}

/** Events of a streaming request, as an async iterator; `result` holds its final line. */
export interface RequestStream extends AsyncIterable<EngineEvent> {
  readonly id: number;
  readonly result: Promise<EngineResponse>;
  /** Stops the request (as aborting its signal would). */
  cancel(): void;
}

export type NativeLMState = "idle" | "starting" | "ready" | "restarting" | "failed" | "closed";

const MAX_RESTART_DELAY_MS = 5000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Events: "ready" (pid), "exit" (ExitInfo, expected: boolean), "restarting" (attempt),
 * "failed" (NativeLMError: the engine is down and will not be restarted), "closed".
 */
export class NativeLM extends EventEmitter {
  private readonly opts: Required<Omit<NativeLMOptions, "binaryPath" | "cwd" | "env" | "args">> & NativeLMOptions;
  private readonly logger: Logger;
  private _state: NativeLMState = "idle";
  private proc: EngineProcess | undefined;
  private launching: EngineProcess | undefined;
  private ready: Promise<EngineProcess> | undefined;
  private failure: NativeLMError | undefined;
  private crashTimes: number[] = [];
  private nextId = 1;

  constructor(options: NativeLMOptions = {}) {
    super();
    this.opts = {
      requestTimeoutMs: 0, startTimeoutMs: 30000, autoRestart: true, maxRestarts: 3, restartWindowMs: 60000,
      restartDelayMs: 250, shutdownTimeoutMs: 5000, logger: consoleLogger,
      // An option given as undefined keeps its default.
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    };
    this.logger = this.opts.logger;
  }

  get state(): NativeLMState {
    return this._state;
  }

  /** The engine's process id while one runs. */
  get pid(): number | undefined {
    return this.proc && !this.proc.exited ? this.proc.pid : undefined;
  }

  /** Why the client gave up (state "failed"). */
  get lastError(): NativeLMError | undefined {
    return this.failure;
  }

  /** Starts the engine and waits for its pong. Idempotent; after "failed" it tries afresh. */
  async start(): Promise<void> {
    await this.whenReady(true);
  }

  async ping(options: RequestOptions = {}): Promise<void> {
    const r = await this.request({ command: "ping" }, options);
    if (r.message !== "pong") throw new NativeLMError("protocol_error", "[nativelm] ping was not answered with pong");
  }

  status(options: RequestOptions = {}): Promise<EngineResponse> {
    return this.request({ command: "status" }, options);
  }

  /** Sends one request; resolves with its final line, rejects with a NativeLMError. */
  request(request: EngineRequest, options: RequestOptions = {}): Promise<EngineResponse> {
    return this.submit(this.nextId++, request, options);
  }

  /** Sends a request with "stream": true and iterates over its event lines. */
  stream(request: EngineRequest, options: RequestOptions = {}): RequestStream {
    const id = this.nextId++;
    const controller = new AbortController();
    const outer = options.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener("abort", onOuterAbort, { once: true });
    const queue = new AsyncQueue<EngineEvent>(() => controller.abort());
    const result = this.submit(id, { ...request, stream: true }, {
      ...options,
      signal: controller.signal,
      onEvent: (e) => {
        options.onEvent?.(e);
        queue.push(e);
      },
    });
    result.then(() => queue.end(), (e: unknown) => queue.fail(e))
      .finally(() => outer?.removeEventListener("abort", onOuterAbort));
    result.catch(() => {});  // the iterator reports it; callers awaiting `result` still see it
    return { id, result, cancel: () => controller.abort(), [Symbol.asyncIterator]: () => queue };
  }

  /** Asks the engine to cancel the request `target`; true when it was running. */
  async cancel(target: unknown): Promise<boolean> {
    const r = await this.request({ command: "cancel", target });
    return r.cancelled === true;
  }

  /** Stops the engine: cancels what is in flight, sends `shutdown`, kills it if it lingers. */
  async close(): Promise<void> {
    if (this._state === "closed") return;
    this._state = "closed";
    this.launching?.kill();
    const proc = this.proc;
    if (proc && !proc.exited) {
      for (const [key, entry] of [...proc.inFlight]) {
        if (entry.abandoned) continue;
        entry.abandoned = true;
        entry.reject(new NativeLMError("closed", "[nativelm] the client was closed", { requestId: JSON.parse(key) }));
        proc.fireAndForget({ command: "cancel", target: JSON.parse(key) });
      }
      proc.fireAndForget({ command: "shutdown" });
      proc.endInput();
      const timer = setTimeout(() => proc.kill("SIGKILL"), this.opts.shutdownTimeoutMs);
      await proc.ended;
      clearTimeout(timer);
    }
    this.emit("closed");
  }

  private async whenReady(explicitStart = false): Promise<EngineProcess> {
    switch (this._state) {
      case "closed":
        throw new NativeLMError("closed", "[nativelm] the client was closed");
      case "ready":
        if (this.proc && !this.proc.exited) return this.proc;
        if (this.proc) return this.proc.ended.then(() => this.whenReady());  // its exit handler restarts it
        break;
      case "starting":
      case "restarting":
        if (this.ready) return this.ready;
        break;
      case "failed":
        if (!explicitStart && this.failure) throw this.failure;
        break;
      case "idle":
        break;
    }
    this.crashTimes = [];
    this.failure = undefined;
    this._state = "starting";
    this.ready = this.launch().then(
      (p) => this.onReady(p),
      (e: NativeLMError) => {
        this.fail(e, "warn");  // e.g. no binary here: the app may well go on with another backend
        throw e;
      });
    this.ready.catch(() => {});
    return this.ready;
  }

  private onReady(p: EngineProcess): EngineProcess {
    if (this._state === "closed") {
      p.kill();
      throw new NativeLMError("closed", "[nativelm] the client was closed");
    }
    this.proc = p;
    this._state = "ready";
    this.emit("ready", p.pid);
    void p.ended.then((info) => this.onExit(p, info));
    return p;
  }

  /** The engine is down for good (until start() is called again). */
  private fail(error: NativeLMError, level: "warn" | "error" = "error"): void {
    if (this._state === "closed") return;
    this._state = "failed";
    this.failure = error;
    this.logger[level](error.message);
    this.emit("failed", error);
  }

  /** Spawns a process and waits for its pong. */
  private async launch(): Promise<EngineProcess> {
    const binary = resolveBinary(this.opts.binaryPath);
    const env = { ...process.env, ...this.opts.env };
    const p = new EngineProcess(binary, this.opts.args ?? [], env, this.opts.cwd, this.logger);
    this.launching = p;
    let timer: NodeJS.Timeout | undefined;
    const pong = new Promise<void>((resolve, reject) => {
      const sent = p.send(0, { command: "ping" }, {
        command: "ping", abandoned: false,
        resolve: (r) => (r.message === "pong" ? resolve() : reject(new Error("ping answered without pong"))),
        reject,
      });
      if (!sent) reject(new Error("its stdin is closed"));
      timer = setTimeout(() => reject(new Error(`no pong within ${this.opts.startTimeoutMs} ms`)),
        this.opts.startTimeoutMs);
    });
    try {
      await Promise.race([pong, p.ended.then((info) => { throw new Error(describeExit(info)); })]);
      return p;
    } catch (e) {
      p.kill();
      const exited = e instanceof NativeLMError && e.code === "engine_exited";
      const why = exited ? describeExit(await p.ended) : e instanceof Error ? e.message : String(e);
      throw new NativeLMError("engine_unavailable", `[nativelm] could not start ${binary}: ${why}`,
        { backend: "nativelm", cause: e });
    } finally {
      clearTimeout(timer);
      this.launching = undefined;
    }
  }

  private onExit(p: EngineProcess, info: ExitInfo): void {
    if (this.proc === p) this.proc = undefined;
    const expected = this._state === "closed";
    this.emit("exit", info, expected);
    if (expected) return;
    this.logger.warn(`[nativelm] ${describeExit(info)}`);
    this.crashed(`${describeExit(info)}`);
  }

  /** Counts a crash and restarts the engine, or gives up after too many. */
  private crashed(why: string): void {
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < this.opts.restartWindowMs);
    this.crashTimes.push(now);
    const attempt = this.crashTimes.length;
    if (!this.opts.autoRestart || attempt > this.opts.maxRestarts) {
      const reason = this.opts.autoRestart
        ? `the engine failed ${attempt} times within ${this.opts.restartWindowMs} ms (crash loop); not restarting it. Last: ${why}`
        : `the engine is down (${why}) and autoRestart is off`;
      this.fail(new NativeLMError("engine_unavailable", `[nativelm] ${reason}`, { backend: "nativelm" }));
      return;
    }
    this._state = "restarting";
    const wait = Math.min(this.opts.restartDelayMs * 2 ** (attempt - 1), MAX_RESTART_DELAY_MS);
    this.logger.warn(`[nativelm] restarting the engine in ${wait} ms (attempt ${attempt} of ${this.opts.maxRestarts})`);
    this.emit("restarting", attempt);
    this.ready = delay(wait).then(() => {
      if (this._state === "closed") throw new NativeLMError("closed", "[nativelm] the client was closed");
      return this.launch();
    }).then((p) => this.onReady(p), (e: NativeLMError) => {
      if (this._state === "closed" || e.code === "closed") throw e;
      this.crashed(e.message);
      return this.whenReady();
    });
    this.ready.catch(() => {});
  }

  private submit(id: number, request: EngineRequest, options: RequestOptions): Promise<EngineResponse> {
    return new Promise<EngineResponse>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.opts.requestTimeoutMs;
      let settled = false;
      let sentTo: EngineProcess | undefined;
      let timer: NodeJS.Timeout | undefined;
      const entry = {
        command: request.command, abandoned: false, onEvent: options.onEvent,
        resolve: (r: EngineResponse) => finish(() => resolve(r)),
        reject: (e: NativeLMError) => finish(() => reject(e)),
      };
      const finish = (act: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        act();
      };
      const abandon = (error: NativeLMError) => {
        if (settled) return;
        entry.abandoned = true;
        if (sentTo && !sentTo.exited) sentTo.fireAndForget({ command: "cancel", target: id });
        finish(() => reject(error));
      };
      const onAbort = () => abandon(new NativeLMError("cancelled",
        `[nativelm] request ${id} (${request.command}) was cancelled`, { requestId: id, cause: options.signal?.reason }));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs > 0) {
        timer = setTimeout(() => abandon(new NativeLMError("timeout",
          `[nativelm] request ${id} (${request.command}) timed out after ${timeoutMs} ms`, { requestId: id })), timeoutMs);
      }
      this.whenReady().then((p) => {
        if (settled) return;
        if (this._state === "closed") {
          entry.reject(new NativeLMError("closed", "[nativelm] the client was closed", { requestId: id }));
          return;
        }
        sentTo = p;
        if (!p.send(id, request, entry)) {
          entry.reject(new NativeLMError("engine_exited", `[nativelm] request ${id} (${request.command}) could not be sent: the engine exited`, { requestId: id }));
        }
      }, (e: NativeLMError) => entry.reject(e));
    });
  }
}
