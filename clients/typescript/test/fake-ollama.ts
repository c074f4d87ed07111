// A local HTTP server (127.0.0.1, ephemeral port) answering with the Ollama API's JSON shapes:
// /api/tags, /api/embed, /api/generate and /api/chat (NDJSON when "stream" is not false), /api/pull.
// It records every request and knows one embedding model and one LLM; other names get Ollama's 404.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const OLLAMA_EMBED_MODEL = "nomic-embed-text:latest";
export const OLLAMA_LLM_MODEL = "llama3.2:latest";
const WORDS = ["Hello", " from", " the", " fake", " Ollama", "."];

export interface FakeOllama {
  url: string;
  requests: { method: string; path: string; body: Record<string, unknown> | undefined }[];
  /** Connections the server saw closed by the client before the answer ended. */
  aborted: number;
  /** Delay between streamed lines, in ms. */
  lineDelayMs: number;
  close(): Promise<void>;
}

function known(model: unknown): boolean {
  const m = String(model);
  return [OLLAMA_EMBED_MODEL, OLLAMA_LLM_MODEL].some((k) => k === m || k === `${m}:latest`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function vector(text: string): number[] {
  return [text.length, (text.match(/a/g) ?? []).length, 0.5, -0.25];
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
}

/** Streams `lines` as NDJSON (or only the merged last one when stream is false). */
async function ndjson(fake: FakeOllama, req: IncomingMessage, res: ServerResponse, lines: Record<string, unknown>[],
                      stream: boolean): Promise<void> {
  if (!stream) return sendJson(res, 200, lines[lines.length - 1]);
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  let gone = false;
  res.on("close", () => {
    if (!res.writableFinished) {
      gone = true;
      fake.aborted++;
    }
  });
  for (const line of lines) {
    if (gone) return;
    res.write(JSON.stringify(line) + "\n");
    await new Promise((r) => setTimeout(r, fake.lineDelayMs));
  }
  res.end();
  void req;
}

function generation(body: Record<string, unknown>, chat: boolean): { lines: Record<string, unknown>[]; merged: Record<string, unknown> } {
  const opts = (body.options ?? {}) as Record<string, unknown>;
  const n = Math.min(typeof opts.num_predict === "number" ? opts.num_predict : WORDS.length, 1000);
  const pieces = Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length] as string);
  const base = { model: body.model, created_at: new Date().toISOString() };
  const piece = (text: string) => (chat ? { message: { role: "assistant", content: text } } : { response: text });
  const lines = pieces.map((p) => ({ ...base, ...piece(p), done: false }));
  const final = {
    ...base, ...piece(""), done: true, done_reason: n < WORDS.length ? "length" : "stop",
    total_duration: 1000, load_duration: 10, prompt_eval_count: 7, prompt_eval_duration: 100, eval_count: n,
    eval_duration: 500, ...(chat ? {} : { context: [1, 2, 3] }),
  };
  lines.push(final);
  return { lines, merged: { ...final, ...piece(pieces.join("")) } };
}

async function handle(fake: FakeOllama, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "").split("?")[0] ?? "";
  const body = await readBody(req);
  fake.requests.push({ method: req.method ?? "", path, body });
  if (req.method === "GET" && path === "/api/tags") {
    const model = (name: string, size: number) => ({
      name, model: name, modified_at: "2025-01-01T00:00:00Z", size, digest: "sha256:" + "0".repeat(64),
      details: { format: "gguf", family: "llama", parameter_size: "1B", quantization_level: "Q4_0" },
    });
    return sendJson(res, 200, { models: [model(OLLAMA_LLM_MODEL, 2000000), model(OLLAMA_EMBED_MODEL, 270000)] });
  }
  if (req.method !== "POST" || !body) return sendJson(res, 404, { error: "not found" });
  const stream = body.stream !== false;
  switch (path) {
    case "/api/embed": {
      if (!known(body.model)) return sendJson(res, 404, { error: `model "${String(body.model)}" not found, try pulling it first` });
      const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
      return sendJson(res, 200, {
        model: body.model, embeddings: input.map(vector), total_duration: 1000, load_duration: 10,
        prompt_eval_count: input.length,
      });
    }
    case "/api/generate":
    case "/api/chat": {
      if (!known(body.model)) return sendJson(res, 404, { error: `model '${String(body.model)}' not found` });
      const chat = path === "/api/chat";
      if (!chat && body.prompt === "fail midway") {
        return ndjson(fake, req, res, [{ model: body.model, response: "x", done: false }, { error: "out of memory" }], true);
      }
      const g = generation(body, chat);
      return stream ? ndjson(fake, req, res, g.lines, true) : sendJson(res, 200, g.merged);
    }
    case "/api/pull": {
      if (body.model === "nope") return ndjson(fake, req, res, [{ status: "pulling manifest" }, { error: "pull model manifest: file does not exist" }], true);
      const digest = "sha256:" + "a".repeat(64);
      return ndjson(fake, req, res, [
        { status: "pulling manifest" },
        { status: `pulling ${digest.slice(7, 19)}`, digest, total: 1000, completed: 0 },
        { status: `pulling ${digest.slice(7, 19)}`, digest, total: 1000, completed: 1000 },
        { status: "verifying sha256 digest" }, { status: "writing manifest" }, { status: "success" },
      ], stream);
    }
    default:
      return sendJson(res, 404, { error: "not found" });
  }
}

export async function startFakeOllama(): Promise<FakeOllama> {
  let server: Server | undefined;
  const fake: FakeOllama = {
    url: "", requests: [], aborted: 0, lineDelayMs: 5,
    close: () => new Promise<void>((resolve) => {
      server?.closeAllConnections();
      server?.close(() => resolve());
    }),
  };
  server = createServer((req, res) => {
    handle(fake, req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** A URL where nothing listens (a port that was just closed). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
