// createBackends: the priority chain (nativelm, else Ollama) at start and at run time.
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { createBackends, type BackendChain } from "../src/backends.js";
import { NativeLMError } from "../src/errors.js";
import { NativeLMBackend } from "../src/nativelm-backend.js";
import { OLLAMA_LLM_MODEL, deadUrl, startFakeOllama, type FakeOllama } from "./fake-ollama.js";
import { START_TIMEOUT_MS, fakeEngineBinary, recordingLogger, requireRealBinary, tempDir, waitFor } from "./helpers.js";

const INIT_LINE = (name: string) => `[backend] AI backends initialized successfully - Active: ${name}`;

describe("createBackends", () => {
  const tmp = tempDir();
  const FAKE = fakeEngineBinary(tmp.path);
  let ollama: FakeOllama;
  before(async () => {
    ollama = await startFakeOllama();
  });
  after(async () => {
    await ollama.close();
    tmp.cleanup();
  });

  const script = (name: string, body: string) => {
    const path = join(tmp.path, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const ollamaOptions = () => ({ baseUrl: ollama.url, llmModel: OLLAMA_LLM_MODEL });

  test("nativelm is active when its binary starts and answers ping", async () => {
    const logger = recordingLogger();
    const chain = await createBackends({ nativelm: { binaryPath: FAKE, startTimeoutMs: START_TIMEOUT_MS }, ollama: ollamaOptions(), logger });
    try {
      assert.equal(chain.name, "nativelm");
      assert.ok(logger.lines.some((l) => l.level === "info" && l.message === INIT_LINE("nativelm")), logger.text());
      assert.deepEqual(await chain.embedding.embed("abc"), [3, 1, 1]);
      assert.equal((await chain.llm.generate("x", { maxTokens: 2 })).text, "w1 w2 ");
      assert.equal(ollama.requests.length, 0, "Ollama was not asked");
    } finally {
      await chain.close();
    }
  });

  test("Ollama is active when the nativelm binary is missing, exits, or never answers ping", async () => {
    const cases = [
      [join(tmp.path, "missing"), /binary not found/],
      [script("exits", "echo 'boom' >&2; exit 1"), /exited with code 1.*boom/],
      [script("silent", "exec sleep 30"), /no pong within 500 ms/],
    ] as const;
    for (const [binaryPath, why] of cases) {
      const logger = recordingLogger();
      const chain = await createBackends({ nativelm: { binaryPath, startTimeoutMs: 500 }, ollama: ollamaOptions(), logger });
      try {
        assert.equal(chain.name, "ollama");
        assert.ok(logger.lines.some((l) => l.message === INIT_LINE("ollama")), logger.text());
        assert.ok(logger.lines.some((l) => l.level === "warn" && /nativelm unavailable/.test(l.message) && why.test(l.message)), logger.text());
        assert.equal((await chain.generate("hi")).text, "Hello from the fake Ollama.");
        const nativelm = chain.backends[0] as NativeLMBackend;
        assert.equal(nativelm.client.state, "closed", "the nativelm that failed is shut, not retrying");
      } finally {
        await chain.close();
      }
    }
  });

  test("no backend available: a typed error naming each reason", async () => {
    const logger = recordingLogger();
    await assert.rejects(createBackends({
      nativelm: { binaryPath: join(tmp.path, "missing") }, ollama: { baseUrl: await deadUrl() }, logger,
    }), (e: NativeLMError) => {
      assert.equal(e.code, "engine_unavailable");
      assert.match(e.message, /nativelm: .*binary not found.*; ollama: .*cannot reach/);
      return true;
    });
  });

  test("at run time, a nativelm that crashes and cannot restart hands over to Ollama", async () => {
    const dir = tempDir();
    const refuse = join(dir.path, "refuse");
    const logger = recordingLogger();
    const chain = await createBackends({
      nativelm: { binaryPath: FAKE, env: { FAKE_REFUSE_FILE: refuse }, maxRestarts: 2, restartDelayMs: 50 },
      ollama: ollamaOptions(), logger,
    });
    try {
      assert.equal(chain.name, "nativelm");
      const switched = new Promise<unknown[]>((resolve) => chain.once("switch", (...a: unknown[]) => resolve(a)));
      writeFileSync(refuse, "");
      const nativelm = chain.active as NativeLMBackend;
      await assert.rejects(nativelm.client.request({ command: "crash" }), (e: NativeLMError) => e.code === "engine_exited");
      // Issued while nativelm is restarting: served by Ollama once nativelm gives up.
      const r = await chain.generate("hi", { maxTokens: 1 });
      assert.equal(r.text, "Hello");
      const [from, to] = await switched;
      assert.deepEqual([from, to], ["nativelm", "ollama"]);
      assert.equal(chain.name, "ollama");
      assert.ok(logger.lines.some((l) => /nativelm is down .*crash loop.*switched to ollama - Active: ollama/.test(l.message)), logger.text());
      assert.deepEqual(await chain.embed(["a"], "nomic-embed-text"), [[1, 1, 0.5, -0.25]]);
    } finally {
      await chain.close();
      dir.cleanup();
    }
  });
});

describe("createBackends with the real binary", () => {
  let ollama: FakeOllama;
  const tmp = tempDir();
  before(async () => {
    ollama = await startFakeOllama();
  });
  after(async () => {
    await ollama.close();
    tmp.cleanup();
  });

  test("nativelm is active; killed with no way back, Ollama takes over", async () => {
    const real = requireRealBinary();
    // The real engine, unless the file "refuse" exists: then it cannot be started again.
    const refuse = join(tmp.path, "refuse");
    const wrapper = join(tmp.path, "nativelm");
    writeFileSync(wrapper, `#!/bin/sh\n[ -e '${refuse}' ] && { echo 'nativelm error: refusing' >&2; exit 7; }\nexec '${real}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const logger = recordingLogger();
    let chain: BackendChain | undefined;
    try {
      chain = await createBackends({
        nativelm: { binaryPath: wrapper, maxRestarts: 1, restartDelayMs: 50, startTimeoutMs: START_TIMEOUT_MS },
        ollama: { baseUrl: ollama.url, llmModel: OLLAMA_LLM_MODEL }, logger,
      });
      assert.equal(chain.name, "nativelm", logger.text());
      assert.ok(logger.lines.some((l) => l.message === INIT_LINE("nativelm")));
      const nativelm = chain.active as NativeLMBackend;
      assert.equal(typeof (await nativelm.client.status()).version, "string");
      const pid = nativelm.client.pid as number;
      writeFileSync(refuse, "");
      const c = chain;
      process.kill(pid, "SIGKILL");
      await waitFor(() => c.name === "ollama", 20000, "the switch to Ollama");
      assert.equal((await chain.generate("hi", { maxTokens: 2 })).text, "Hello from");
    } finally {
      await chain?.close();
    }
  });
});
