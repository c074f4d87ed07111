// One spawned `nativelm serve` process: its pipes, the JSON lines it writes, the requests sent to
// it and not yet answered, and how it ended. NativeLM (client.ts) owns the restarts around it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { StringDecoder } from "node:string_decoder";

import { NativeLMError, toErrorCode } from "./errors.js";
import { forwardEngineLog, type Logger } from "./logger.js";

/** A line the engine writes about a request before its final line (`{"event":"token",…}`). */
export interface EngineEvent {
  event: string;
  [key: string]: unknown;
}

/** The final line of a successful request, without its "id". */
export interface EngineResponse {
  success: true;
  [key: string]: unknown;
}

/** A request in flight on one process. */
export interface InFlight {
  command: string;
  onEvent?: (event: EngineEvent) => void;
  resolve(response: EngineResponse): void;
  reject(error: NativeLMError): void;
  /** Abandoned (cancelled or timed out) requests stay here until their final line, which is dropped. */
  abandoned: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the engine wrote to stderr. */
  stderrTail: string[];
}

const STDERR_TAIL = 20;
const CLOSE_GRACE_MS = 200;  // after 'exit', how long to wait for the last stdout lines

// Engines still running, killed if the app exits without closing them.
const live = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;
function trackForExit(child: ChildProcessWithoutNullStreams): void {
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
}

export function describeExit(info: ExitInfo): string {
  const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
  const tail = info.stderrTail.length ? `; its last stderr lines: ${info.stderrTail.slice(-5).join(" | ")}` : "";
  return `the engine ${how}${tail}`;
}

export class EngineProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly inFlight = new Map<string, InFlight>();
  readonly stderrTail: string[] = [];
  /** Resolves once the process has exited and its output is read (or given up on). */
  readonly ended: Promise<ExitInfo>;
  exited = false;
  private stdoutBuf = "";
  private internalId = -1;
  private stderrBuf = "";

  constructor(binary: string, args: string[], env: NodeJS.ProcessEnv, cwd: string | undefined,
              private readonly logger: Logger) {
    this.child = spawn(binary, ["serve", ...args], { env, cwd, stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    trackForExit(this.child);
    this.child.stdin.on("error", () => {});  // EPIPE once it died: the exit handler reports that
    const out = new StringDecoder("utf8");
    const err = new StringDecoder("utf8");
    this.child.stdout.on("data", (chunk: Buffer) => this.onStdout(out.write(chunk)));
    this.child.stderr.on("data", (chunk: Buffer) => this.onStderr(err.write(chunk)));
    this.ended = new Promise<ExitInfo>((resolve) => {
      let code: number | null = null;
      let signal: NodeJS.Signals | null = null;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        live.delete(this.child);
        this.exited = true;
        if (this.stderrBuf) this.onStderr("\n");
        const info = { code, signal, stderrTail: [...this.stderrTail] };
        this.failAll(info);
        resolve(info);
      };
      this.child.on("error", (e) => {
        // Spawn failed (ENOENT, EACCES…): there will be no 'exit'.
        this.stderrTail.push(`spawn failed: ${e.message}`);
        code = -1;
        finish();
      });
      this.child.on("exit", (c, s) => {
        code = c;
        signal = s;
        this.exited = true;
        setTimeout(finish, CLOSE_GRACE_MS).unref();
      });
      this.child.on("close", (c, s) => {
        code ??= c;
        signal ??= s;
        finish();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Writes one request line; false when the process is gone. */
  write(request: Record<string, unknown>): boolean {
    if (this.exited || !this.child.stdin.writable) return false;
    this.child.stdin.write(JSON.stringify(request) + "\n");
    return true;
  }

  /** Sends a request and tracks it under `id`. */
  send(id: number, request: Record<string, unknown>, entry: InFlight): boolean {
    this.inFlight.set(JSON.stringify(id), entry);
    if (this.write({ ...request, id })) return true;
    this.inFlight.delete(JSON.stringify(id));
    return false;
  }

  /** Sends a request whose answer nobody waits for (cancel, shutdown): its lines are dropped. */
  fireAndForget(request: Record<string, unknown>): void {
    const id = this.internalId--;
    const entry: InFlight = { command: String(request.command), abandoned: true, resolve: () => {}, reject: () => {} };
    this.send(id, request, entry);
  }

  endInput(): void {
    if (!this.child.stdin.writableEnded) this.child.stdin.end();
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (!this.exited) this.child.kill(signal);
  }

  private failAll(info: ExitInfo): void {
    for (const [key, entry] of this.inFlight) {
      if (entry.abandoned) continue;
      entry.reject(new NativeLMError("engine_exited",
        `[nativelm] request ${key} (${entry.command}) failed: ${describeExit(info)}`,
        { requestId: JSON.parse(key), backend: "nativelm" }));
    }
    this.inFlight.clear();
  }

  private onStdout(text: string): void {
    this.stdoutBuf += text;
    let nl: number;
    while ((nl = this.stdoutBuf.indexOf("\n")) >= 0) {
      const line = this.stdoutBuf.slice(0, nl);
      this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
  }

  private onStderr(text: string): void {
    this.stderrBuf += text;
    let nl: number;
    while ((nl = this.stderrBuf.indexOf("\n")) >= 0) {
      const line = this.stderrBuf.slice(0, nl).replace(/\r$/, "");
      this.stderrBuf = this.stderrBuf.slice(nl + 1);
      if (!line) continue;
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
      forwardEngineLog(this.logger, line);
    }
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.logger.warn(`[nativelm] unreadable output line ignored: ${line.slice(0, 200)}`);
      return;
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      this.logger.warn(`[nativelm] output line is not an object: ${line.slice(0, 200)}`);
      return;
    }
    const obj = msg as Record<string, unknown>;
    const key = "id" in obj ? JSON.stringify(obj.id) : undefined;
    const entry = key === undefined ? undefined : this.inFlight.get(key);
    if (!entry || key === undefined) {
      this.logger.warn(`[nativelm] output line for no request in flight: ${line.slice(0, 200)}`);
      return;
    }
    const { id: _id, ...rest } = obj;
    if (!("success" in rest) && typeof rest.event === "string") {
      if (!entry.abandoned) entry.onEvent?.(rest as EngineEvent);
      return;
    }
    this.inFlight.delete(key);
    if (entry.abandoned) return;
    if (rest.success === true) {
      entry.resolve(rest as EngineResponse);
    } else {
      const message = typeof rest.error === "string" ? rest.error : `request ${key} (${entry.command}) failed`;
      entry.reject(new NativeLMError(toErrorCode(rest.code), message, { requestId: obj.id, backend: "nativelm" }));
    }
  }
}
