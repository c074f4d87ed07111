// OllamaBackend against a local server that answers with the Ollama API's JSON shapes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { NativeLMError } from "../src/errors.js";
import { OllamaBackend } from "../src/ollama-backend.js";
import { waitFor } from "./helpers.js";
import { OLLAMA_EMBED_MODEL, OLLAMA_LLM_MODEL, deadUrl, startFakeOllama, type FakeOllama } from "./fake-ollama.js";

describe("OllamaBackend", () => {
  let fake: FakeOllama;
  let ollama: OllamaBackend;

  before(async () => {
    fake = await startFakeOllama();
    ollama = new OllamaBackend({ baseUrl: fake.url + "/", embeddingModel: OLLAMA_EMBED_MODEL, llmModel: OLLAMA_LLM_MODEL });
  });
  after(() => fake.close());

  const lastRequest = () => fake.requests[fake.requests.length - 1];

  test("isAvailable: true when /api/tags answers, false with the reason when nothing listens", async () => {
    assert.equal(await ollama.isAvailable(), true);
    const dead = new OllamaBackend({ baseUrl: await deadUrl() });
    assert.equal(await dead.isAvailable(), false);
    assert.match(dead.lastError?.message ?? "", /cannot reach/);
    await assert.rejects(dead.embed("x"), (e: NativeLMError) => e.code === "engine_unavailable");
  });

  test("embed: one text gives a vector, several give one each; the body is {model, input}", async () => {
    assert.deepEqual(await ollama.embed("banana"), [6, 3, 0.5, -0.25]);
    assert.deepEqual(lastRequest()?.body, { model: OLLAMA_EMBED_MODEL, input: "banana" });
    assert.deepEqual(await ollama.embed(["a", "bb"], "nomic-embed-text"), [[1, 1, 0.5, -0.25], [2, 0, 0.5, -0.25]]);
    assert.deepEqual(lastRequest()?.body, { model: "nomic-embed-text", input: ["a", "bb"] });
  });

  test("an unknown model is a typed model_not_found error with the HTTP status", async () => {
    await assert.rejects(ollama.embed("x", "nope"), (e: NativeLMError) => {
      assert.equal(e.code, "model_not_found");
      assert.equal(e.status, 404);
      assert.match(e.message, /nope/);
      return true;
    });
    await assert.rejects(ollama.generate("hi", { model: "nope" }), (e: NativeLMError) => e.code === "model_not_found");
  });

  test("generate: options map to Ollama's, the NDJSON stream is joined, usage comes from the counts", async () => {
    const pieces: string[] = [];
    const r = await ollama.generate("Say hi", { maxTokens: 4, temperature: 0, topP: 0.9, topK: 40, seed: 1, stop: ["\n"], onToken: (t) => pieces.push(t) });
    assert.equal(r.text, "Hello from the fake");
    assert.deepEqual(pieces, ["Hello", " from", " the", " fake"]);
    assert.equal(r.finishReason, "length");
    assert.deepEqual(r.usage, { promptTokens: 7, completionTokens: 4, totalTokens: 11 });
    assert.equal(r.model, OLLAMA_LLM_MODEL);
    assert.deepEqual(lastRequest()?.body, {
      model: OLLAMA_LLM_MODEL, prompt: "Say hi", stream: true,
      options: { num_predict: 4, temperature: 0, top_p: 0.9, top_k: 40, seed: 1, stop: ["\n"] },
    });
  });

  test("generateStream yields each piece, then a done chunk with the result", async () => {
    const chunks = [];
    for await (const c of ollama.generateStream("Say hi")) chunks.push(c);
    assert.deepEqual(chunks.slice(0, -1).map((c) => c.text), ["Hello", " from", " the", " fake", " Ollama", "."]);
    const last = chunks[chunks.length - 1];
    assert.ok(last?.done);
    assert.equal(last.result.text, "Hello from the fake Ollama.");
    assert.equal(last.result.finishReason, "stop");
  });

  test("chat and chatStream send messages and return the assistant message", async () => {
    const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }];
    const r = await ollama.chat(messages, { maxTokens: 2 });
    assert.deepEqual(r.message, { role: "assistant", content: "Hello from" });
    assert.equal(r.text, "Hello from");
    assert.deepEqual(lastRequest()?.body?.messages, messages);
    assert.equal(lastRequest()?.path, "/api/chat");
    const texts: string[] = [];
    let final;
    for await (const c of ollama.chatStream(messages)) {
      if (c.done) final = c.result;
      else texts.push(c.text);
    }
    assert.equal(texts.join(""), "Hello from the fake Ollama.");
    assert.equal(final?.message.content, "Hello from the fake Ollama.");
  });

  test("an {\"error\"} line in the middle of a stream rejects", async () => {
    await assert.rejects(ollama.generate("fail midway"), (e: NativeLMError) => e instanceof NativeLMError && /out of memory/.test(e.message));
  });

  test("cancel: aborting the signal rejects with 'cancelled' and closes the connection", async () => {
    fake.lineDelayMs = 100;
    try {
      const abortedBefore = fake.aborted;
      const ac = new AbortController();
      const seen: string[] = [];
      const p = ollama.generate("long", {
        maxTokens: 500, signal: ac.signal,
        onToken: (t) => {
          seen.push(t);
          if (seen.length === 2) ac.abort();
        },
      });
      await assert.rejects(p, (e: NativeLMError) => e.code === "cancelled");
      assert.deepEqual(seen, ["Hello", " from"]);
      await waitFor(() => fake.aborted > abortedBefore, 10000, "the server to see the connection closed");
      // Breaking out of a stream closes it too.
      const before = fake.aborted;
      for await (const c of ollama.generateStream("long", { maxTokens: 500 })) {
        if (!c.done) break;
      }
      await waitFor(() => fake.aborted > before, 10000, "the server to see the stream closed");
    } finally {
      fake.lineDelayMs = 5;
    }
  });

  test("timeout: a slow stream rejects with 'timeout'", async () => {
    fake.lineDelayMs = 100;
    try {
      await assert.rejects(ollama.generate("long", { maxTokens: 500, timeoutMs: 300 }), (e: NativeLMError) => e.code === "timeout");
    } finally {
      fake.lineDelayMs = 5;
    }
  });

  test("listModels reads /api/tags; pull reports progress and fails typed", async () => {
    const models = await ollama.listModels();
    assert.deepEqual(models.map((m) => [m.name, m.size]), [[OLLAMA_LLM_MODEL, 2000000], [OLLAMA_EMBED_MODEL, 270000]]);
    const progress: { status?: string; completed?: number; total?: number }[] = [];
    await ollama.pull("tinyllama", { onProgress: (p) => progress.push(p) });
    assert.deepEqual(lastRequest()?.body, { model: "tinyllama", stream: true });
    assert.equal(progress[0]?.status, "pulling manifest");
    assert.deepEqual(progress.filter((p) => p.total).map((p) => [p.completed, p.total]), [[0, 1000], [1000, 1000]]);
    assert.equal(progress[progress.length - 1]?.status, "success");
    await assert.rejects(ollama.pull("nope"), (e: NativeLMError) => /file does not exist/.test(e.message));
  });
});
