// NativeLM and NativeLMBackend against the real binary ($NATIVELM_BIN or <repo>/build/nativelm).
// Slow requests use the test-only `sleep` command (serve --debug-commands); generation uses the
// embedded default model and is skipped, saying so, while the binary cannot generate yet.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";

import { NativeLM, type NativeLMOptions } from "../src/client.js";
import { NativeLMError } from "../src/errors.js";
import { NativeLMBackend } from "../src/nativelm-backend.js";
import { ENGINE_ENV, SHARED_DIR, START_TIMEOUT_MS, alive, recordingLogger, requireRealBinary, waitFor } from "./helpers.js";

const isCode = (code: string) => (e: unknown) => e instanceof NativeLMError && e.code === code;

function realClient(options: NativeLMOptions = {}): NativeLM {
  return new NativeLM({
    binaryPath: requireRealBinary(), args: ["--debug-commands"], env: ENGINE_ENV, startTimeoutMs: START_TIMEOUT_MS,
    restartDelayMs: 50, logger: recordingLogger(), ...options,
  });
}

/** Waits until the engine reports `n` requests in flight. */
async function waitInFlight(c: NativeLM, n: number): Promise<void> {
  let seen = -1;
  for (let i = 0; i < 400 && seen !== n; ++i) {
    seen = (await c.status()).requests_in_flight as number;
    if (seen !== n) await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(seen, n, `requests in flight`);
}

describe("NativeLM with the real binary", () => {
  let client: NativeLM;
  before(async () => {
    client = realClient();
    await client.start();
  });
  after(() => client.close());

  test("ping and status", async () => {
    await client.ping();
    const s = await client.status();
    assert.equal(typeof s.version, "string");
    assert.equal(s.requests_in_flight, 0);
    assert.ok(Array.isArray(s.models));
  });

  test("engine errors are typed with the protocol's codes", async () => {
    await assert.rejects(client.request({ command: "fly" }), (e: NativeLMError) =>
      e.code === "unknown_command" && /fly/.test(e.message) && typeof e.requestId === "number");
    await assert.rejects(client.request({ command: "cancel" }), isCode("invalid_request"));
    await assert.rejects(client.request({ command: "sleep", ms: -5 }), isCode("invalid_request"));
    const backend = new NativeLMBackend({ client });
    await assert.rejects(backend.embed("hi", "/nonexistent/model"), isCode("model_not_found"));
    await assert.rejects(backend.embed(["a", "b"], "/nonexistent/model"), isCode("model_not_found"));
    await assert.rejects(backend.generate("hi", { model: "/nonexistent/model" }), isCode("model_not_found"));
  });

  test("cancel: aborting a running request rejects 'cancelled' and the engine stops it", async () => {
    const ac = new AbortController();
    const p = assert.rejects(client.request({ command: "sleep", ms: 60000 }, { signal: ac.signal }), isCode("cancelled"));
    await waitInFlight(client, 1);
    ac.abort();
    await p;
    await waitInFlight(client, 0);
    assert.equal(await client.cancel("nothing-running"), false);
  });

  test("timeout: a request past its timeout rejects 'timeout' and the engine stops it", async () => {
    await assert.rejects(client.request({ command: "sleep", ms: 60000 }, { timeoutMs: 300 }), isCode("timeout"));
    await waitInFlight(client, 0);
    const r = await client.request({ command: "sleep", ms: 10 }, { timeoutMs: START_TIMEOUT_MS });
    assert.equal(r.slept_ms, 10);
  });
});

describe("NativeLM restarts the real binary", () => {
  test("killing the engine mid-request rejects within a second; the next request succeeds", async () => {
    const c = realClient();
    try {
      await c.start();
      const pid = c.pid as number;
      let killedAt = 0;
      const p = c.request({ command: "sleep", ms: 60000 }).then(
        () => assert.fail("the request should fail"),
        (e: unknown) => ({ e, at: Date.now() }));
      await waitInFlight(c, 1);
      killedAt = Date.now();
      process.kill(pid, "SIGKILL");
      const { e, at } = await p;
      assert.ok(isCode("engine_exited")(e), String(e));
      assert.match((e as Error).message, /SIGKILL/);
      assert.ok(at - killedAt < 1000, `rejected ${at - killedAt} ms after the kill`);
      const r = await c.request({ command: "sleep", ms: 10 });
      assert.equal(r.slept_ms, 10);
      assert.notEqual(c.pid, pid);
      assert.equal(alive(pid), false);
    } finally {
      await c.close();
    }
  });

  test("close() ends the engine with exit code 0; its stderr reaches the logger", async () => {
    const logger = recordingLogger();
    const c = realClient({ args: ["--log-level", "info"], logger });
    await c.start();
    const pid = c.pid as number;
    const exits: unknown[] = [];
    c.on("exit", (info: { code: number | null }, expected: boolean) => exits.push([info.code, expected]));
    await c.close();
    assert.deepEqual(exits, [[0, true]]);
    assert.equal(alive(pid), false);
    await waitFor(() => logger.lines.length > 0, 1000, "a log line");
    assert.ok(logger.lines.some((l) => l.level === "info" && l.message.startsWith("[nativelm] ")), logger.text());
  });
});

describe("NativeLMBackend with the real binary's default model", () => {
  let backend: NativeLMBackend;
  const missing = new Map<string, string>();  // command → why it cannot run on the default model yet
  before(async () => {
    backend = new NativeLMBackend({ client: realClient() });
    const probes: [string, () => Promise<unknown>][] = [
      ["generate", () => backend.generate("Once", { maxTokens: 1, temperature: 0 })],
      ["chat", () => backend.chat([{ role: "user", content: "Hi" }], { maxTokens: 1, temperature: 0 })],
    ];
    for (const [command, probe] of probes) {
      try {
        await probe();
      } catch (e) {
        if (isCode("unknown_command")(e) || isCode("model_not_found")(e) || isCode("unsupported")(e)) {
          missing.set(command, `the binary cannot ${command} on its default model yet (${(e as Error).message})`);
        }
      }
    }
  });
  after(() => backend.client.close());

  const needs = (t: TestContext, command: string): boolean => {
    const why = missing.get(command);
    if (why) t.skip(why);
    return why === undefined;
  };

  test("generateStream: the pieces add up to the final text", async (t) => {
    if (!needs(t, "generate")) return;
    const pieces: string[] = [];
    let result;
    for await (const c of backend.generateStream("Once upon a time", { maxTokens: 16, temperature: 0 })) {
      if (c.done) result = c.result;
      else pieces.push(c.text);
    }
    assert.ok(result);
    assert.equal(pieces.join(""), result.text);
    assert.ok(["stop", "length"].includes(result.finishReason), result.finishReason);
    assert.ok(pieces.length >= 1 && pieces.length <= 16);
    if (result.tokens) assert.equal(result.tokens.length, pieces.length);
  });

  test("greedy streaming from an empty prompt matches llama2.c's reference tokens and text", async (t) => {
    if (!needs(t, "generate")) return;
    const expectedFile = join(SHARED_DIR, "models", "stories260K", "expected.json");
    if (!existsSync(expectedFile)) return t.skip(`no reference at ${expectedFile}`);
    const expected = JSON.parse(readFileSync(expectedFile, "utf8")) as {
      expected_text: string; expected_token_ids_after_BOS: number[];
    };
    const ids: number[] = [];
    const pieces: string[] = [];
    let result;
    for await (const c of backend.generateStream("", { maxTokens: 40, temperature: 0 })) {
      if (c.done) result = c.result;
      else {
        pieces.push(c.text);
        if (c.token !== undefined) ids.push(c.token);
      }
    }
    assert.deepEqual(ids, expected.expected_token_ids_after_BOS.slice(0, 40));
    assert.deepEqual(result?.tokens, ids);
    assert.equal(result?.finishReason, "length");
    assert.equal(pieces.join(""), result?.text);
    assert.ok(expected.expected_text.startsWith(result?.text ?? "?"), `${result?.text} is not a prefix of the reference`);
    assert.ok((result?.text.length ?? 0) > 100);
  });

  test("chatStream: the final message is the assistant's, made of the pieces", async (t) => {
    if (!needs(t, "chat")) return;
    const pieces: string[] = [];
    let result;
    for await (const c of backend.chatStream([{ role: "user", content: "Tell a story" }], { maxTokens: 8, temperature: 0 })) {
      if (c.done) result = c.result;
      else pieces.push(c.text);
    }
    assert.equal(result?.message.role, "assistant");
    assert.equal(result?.message.content, pieces.join(""));
  });

  test("killing the engine mid-generation rejects within a second; generation works after the restart", async (t) => {
    if (!needs(t, "generate")) return;
    const client = backend.client;
    const pid = client.pid as number;
    process.kill(pid, "SIGSTOP");  // the request below is then surely in flight when the kill lands
    const p = backend.generate("Once upon a time", { maxTokens: 200 }).then(
      () => assert.fail("the request should fail"), (e: unknown) => ({ e, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    const { e, at } = await p;
    assert.ok(isCode("engine_exited")(e), String(e));
    assert.ok(at - killedAt < 1000, `rejected ${at - killedAt} ms after the kill`);
    const r = await backend.generate("Once upon a time", { maxTokens: 4, temperature: 0 });
    assert.ok(r.text.length > 0);
  });

  test("cancel mid-stream: the iterator rejects 'cancelled', the engine goes on", async (t) => {
    if (!needs(t, "generate")) return;
    const ac = new AbortController();
    let n = 0;
    await assert.rejects((async () => {
      for await (const c of backend.generateStream("Once", { maxTokens: 400, signal: ac.signal })) {
        if (!c.done && ++n === 1) ac.abort();
      }
    })(), isCode("cancelled"));
    assert.equal(n, 1);
    await waitInFlight(backend.client, 0);
  });
});
