// NativeLM and NativeLMBackend against the fake engine (test/fixtures/fake-engine.mjs): exact timing,
// and failures the real engine should never show (crash on demand, refusing to start, hanging).
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { NativeLM, type NativeLMOptions } from "../src/client.js";
import { NativeLMError } from "../src/errors.js";
import { NativeLMBackend } from "../src/nativelm-backend.js";
import { START_TIMEOUT_MS, alive, fakeEngineBinary, recordingLogger, tempDir, waitFor } from "./helpers.js";

const tmp = tempDir();
const FAKE = fakeEngineBinary(tmp.path);
after(() => tmp.cleanup());

function fakeClient(options: NativeLMOptions = {}): NativeLM {
  return new NativeLM({
    binaryPath: FAKE, startTimeoutMs: START_TIMEOUT_MS, logger: recordingLogger(), restartDelayMs: 50, ...options,
  });
}

/** Waits until the engine reports no request in flight (it received the cancel), polling `status`. */
async function waitIdle(c: NativeLM): Promise<void> {
  let inFlight = -1;
  for (let i = 0; i < 200 && inFlight !== 0; ++i) {
    inFlight = (await c.status()).requests_in_flight as number;
    if (inFlight !== 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(inFlight, 0, "the engine still runs the cancelled request");
}

const isCode = (code: string) => (e: unknown) => e instanceof NativeLMError && e.code === code;

describe("NativeLM with the fake engine", () => {
  let client: NativeLM;
  before(async () => {
    client = fakeClient();
    await client.start();
  });
  after(() => client.close());

  test("concurrent requests get their own answers", async () => {
    const texts = ["a", "bb", "aaa", "", "banana"];
    const answers = await Promise.all(texts.map((text) => client.request({ command: "embed", text })));
    assert.deepEqual(answers.map((a) => a.embeddings), texts.map((t) => [t.length, (t.match(/a/g) ?? []).length, 1]));
  });

  test("engine errors reject with the protocol's code", async () => {
    await assert.rejects(client.request({ command: "fly" }), (e: NativeLMError) => {
      assert.equal(e.code, "unknown_command");
      assert.match(e.message, /unknown command 'fly'/);
      assert.equal(typeof e.requestId, "number");
      return true;
    });
    await assert.rejects(client.request({ command: "embed", model: "missing", text: "x" }), isCode("model_not_found"));
  });

  test("stream: event lines arrive as an async iterator, then the final line", async () => {
    const s = client.stream({ command: "generate", prompt: "x", max_tokens: 4 });
    const events = [];
    for await (const e of s) events.push(e);
    assert.deepEqual(events.map((e) => [e.event, e.text, e.token]), [
      ["token", "w1 ", 101], ["token", "w2 ", 102], ["token", "w3 ", 103], ["token", "w4 ", 104]]);
    const r = await s.result;
    assert.equal(r.text, "w1 w2 w3 w4 ");
    assert.equal(r.finish_reason, "length");
  });

  test("cancel: aborting rejects at once and the engine stops the request", async () => {
    const ac = new AbortController();
    let tokens = 0;
    const p = client.request({ command: "generate", prompt: "x", max_tokens: 100000, stream: true }, {
      signal: ac.signal,
      onEvent: () => {
        if (++tokens === 3) ac.abort();
      },
    });
    await assert.rejects(p, isCode("cancelled"));
    await waitIdle(client);
    assert.equal(tokens, 3, "no event reaches the caller after the abort");
    const already = new AbortController();
    already.abort();
    await assert.rejects(client.ping({ signal: already.signal }), isCode("cancelled"));
  });

  test("leaving a for-await loop early cancels the request on the engine", async () => {
    const s = client.stream({ command: "generate", prompt: "x", max_tokens: 100000 });
    let n = 0;
    for await (const _ of s) {
      if (++n === 2) break;
    }
    await assert.rejects(s.result, isCode("cancelled"));
    await waitIdle(client);
  });

  test("timeout: a request that is not answered in time rejects with 'timeout'; the engine goes on", async () => {
    const t0 = Date.now();
    await assert.rejects(client.request({ command: "hang" }, { timeoutMs: 200 }), (e: NativeLMError) => {
      assert.equal(e.code, "timeout");
      assert.match(e.message, /timed out after 200 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 190);
    await assert.rejects(client.request({ command: "generate", max_tokens: 100000 }, { timeoutMs: 150 }), isCode("timeout"));
    await client.ping();
  });

  test("the engine's stderr reaches the logger at its level", async () => {
    const logger = recordingLogger();
    const c = fakeClient({ logger });
    try {
      await c.request({ command: "log", level: "info", text: "loaded model m" });
      await c.request({ command: "log", level: "error", text: "bad thing" });
      await waitFor(() => logger.lines.length >= 2, 10000, "stderr lines");
      assert.deepEqual(logger.lines.slice(0, 2), [
        { level: "info", message: "[nativelm] loaded model m" }, { level: "error", message: "[nativelm] bad thing" }]);
    } finally {
      await c.close();
    }
  });
});

describe("NativeLM restarts and shutdown", () => {
  test("killing the engine mid-request rejects within a second; the next request is served", async () => {
    const c = fakeClient();
    const restarting: number[] = [];
    c.on("restarting", (n: number) => restarting.push(n));
    try {
      await c.start();
      const pid = c.pid as number;
      let killedAt = 0;
      const p = c.request({ command: "generate", max_tokens: 100000, stream: true }, {
        onEvent: () => {
          if (!killedAt) {
            killedAt = Date.now();
            process.kill(pid, "SIGKILL");
          }
        },
      });
      await assert.rejects(p, (e: NativeLMError) => {
        assert.equal(e.code, "engine_exited");
        assert.match(e.message, /SIGKILL/);
        return true;
      });
      const elapsed = Date.now() - killedAt;
      assert.ok(elapsed < 1000, `rejected ${elapsed} ms after the kill`);
      const r = await c.request({ command: "generate", max_tokens: 2 });
      assert.equal(r.text, "w1 w2 ");
      assert.notEqual(c.pid, pid);
      assert.deepEqual(restarting, [1]);
      assert.equal(c.state, "ready");
    } finally {
      await c.close();
    }
  });

  test("a crash fails every request in flight, with the engine's last stderr lines", async () => {
    const c = fakeClient();
    try {
      const crashed = (e: NativeLMError) => e.code === "engine_exited" && /code 3.*crashing on request/.test(e.message);
      const slow = [1, 2, 3].map(() => assert.rejects(c.request({ command: "generate", max_tokens: 100000 }), crashed));
      await c.ping();
      await Promise.all([...slow, assert.rejects(c.request({ command: "crash" }), crashed)]);
      await c.ping();
    } finally {
      await c.close();
    }
  });

  test("a crash loop gives up: 'failed' is emitted and requests fail at once, never hang", async () => {
    const dir = tempDir();
    const refuse = join(dir.path, "refuse");
    const starts = join(dir.path, "starts");
    const logger = recordingLogger();
    const c = fakeClient({ logger, maxRestarts: 2, env: { FAKE_REFUSE_FILE: refuse, FAKE_STARTS_FILE: starts } });
    try {
      await c.start();
      const failed = new Promise<NativeLMError>((resolve) => c.once("failed", resolve));
      writeFileSync(refuse, "");
      await assert.rejects(c.request({ command: "crash" }), isCode("engine_exited"));
      const waiting = assert.rejects(c.ping(), isCode("engine_unavailable"));  // waits for the restarts
      const err = await failed;
      assert.equal(err.code, "engine_unavailable");
      assert.match(err.message, /crash loop/);
      await waiting;
      assert.equal(c.state, "failed");
      const t0 = Date.now();
      await assert.rejects(c.ping(), isCode("engine_unavailable"));
      assert.ok(Date.now() - t0 < 1000);
      assert.equal(readFileSync(starts, "utf8").trim().split("\n").length, 3, "1 start + 2 restarts");
      assert.match(logger.text(), /refuses to start/);
      // start() tries afresh once the cause is gone.
      rmSync(refuse);
      await c.start();
      await c.ping();
    } finally {
      await c.close();
      dir.cleanup();
    }
  });

  test("with autoRestart off a crash leaves the client failed", async () => {
    const c = fakeClient({ autoRestart: false });
    try {
      await assert.rejects(c.request({ command: "crash" }), isCode("engine_exited"));
      await waitFor(() => c.state === "failed", 10000, "state failed");
      await assert.rejects(c.ping(), isCode("engine_unavailable"));
    } finally {
      await c.close();
    }
  });

  test("options given as undefined keep their defaults", async () => {
    const c = new NativeLM({ binaryPath: FAKE, startTimeoutMs: undefined, requestTimeoutMs: undefined, logger: recordingLogger() });
    try {
      await c.start();  // an undefined startTimeoutMs would time out at once
      await c.ping();
    } finally {
      await c.close();
    }
  });

  test("a missing binary is a typed engine_unavailable error naming the path", async () => {
    const c = fakeClient({ binaryPath: join(tmp.path, "no-such-nativelm") });
    await assert.rejects(c.start(), (e: NativeLMError) => e.code === "engine_unavailable" && /binary not found.*no-such-nativelm/.test(e.message));
    assert.equal(c.state, "failed");
    await c.close();
  });

  test("close() shuts the engine down: in-flight requests reject 'closed', the process is gone", async () => {
    const c = fakeClient();
    await c.start();
    const pid = c.pid as number;
    const p = assert.rejects(c.request({ command: "generate", max_tokens: 100000 }), isCode("closed"));
    await c.ping();
    await c.close();
    await p;
    assert.equal(alive(pid), false);
    await assert.rejects(c.ping(), isCode("closed"));
  });

  test("close() kills an engine that ignores shutdown after shutdownTimeoutMs", async () => {
    const c = fakeClient({ env: { FAKE_IGNORE_SHUTDOWN: "1" }, shutdownTimeoutMs: 300 });
    await c.start();
    const pid = c.pid as number;
    const exits: unknown[] = [];
    c.on("exit", (info: { signal: string | null }, expected: boolean) => exits.push([info.signal, expected]));
    await c.close();
    assert.equal(alive(pid), false);
    assert.deepEqual(exits, [["SIGKILL", true]]);
  });
});

describe("NativeLMBackend with the fake engine", () => {
  let backend: NativeLMBackend;
  before(() => {
    backend = new NativeLMBackend({ binaryPath: FAKE, logger: recordingLogger(), startTimeoutMs: START_TIMEOUT_MS });
  });
  after(() => backend.close());

  test("isAvailable, embed one and many", async () => {
    assert.equal(await backend.isAvailable(), true);
    assert.deepEqual(await backend.embed("aa"), [2, 2, 1]);
    assert.deepEqual(await backend.embed(["a", "xyz"]), [[1, 1, 1], [3, 0, 1]]);
    await assert.rejects(backend.embed("x", "missing"), isCode("model_not_found"));
  });

  test("generate maps options and the result; onToken streams", async () => {
    const pieces: string[] = [];
    const r = await backend.generate("hi", { maxTokens: 3, temperature: 0, onToken: (t) => pieces.push(t) });
    assert.equal(r.text, "w1 w2 w3 ");
    assert.deepEqual(pieces, ["w1 ", "w2 ", "w3 "]);
    assert.deepEqual(r.tokens, [101, 102, 103]);
    assert.equal(r.finishReason, "length");
    assert.deepEqual(r.usage, { promptTokens: 2, completionTokens: 3, totalTokens: 5 });
  });

  test("generateStream and chatStream yield pieces then the result; abort rejects 'cancelled'", async () => {
    const chunks = [];
    for await (const c of backend.generateStream("hi", { maxTokens: 2 })) chunks.push(c);
    assert.deepEqual(chunks.map((c) => [c.done, c.text]), [[false, "w1 "], [false, "w2 "], [true, ""]]);
    const last = chunks[2];
    assert.ok(last?.done && last.result.text === "w1 w2 ");
    const messages = [{ role: "user", content: "hi" }];
    const chat = await backend.chat(messages, { maxTokens: 1 });
    assert.deepEqual(chat.message, { role: "assistant", content: "w1 " });
    const ac = new AbortController();
    const seen: string[] = [];
    await assert.rejects((async () => {
      for await (const c of backend.chatStream(messages, { maxTokens: 100000, signal: ac.signal })) {
        seen.push(c.text);
        if (seen.length === 2) ac.abort();
      }
    })(), isCode("cancelled"));
    assert.deepEqual(seen, ["w1 ", "w2 "]);
  });

  test("isAvailable is false with the reason for a binary that is not there", async () => {
    const b = new NativeLMBackend({ binaryPath: join(tmp.path, "absent"), logger: recordingLogger() });
    assert.equal(await b.isAvailable(), false);
    assert.match(b.lastError?.message ?? "", /binary not found/);
    await b.close();
    assert.equal(existsSync(join(tmp.path, "absent")), false);
  });
});
