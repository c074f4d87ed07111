// Shared test helpers: where things are, a logger that records, the fake engine, waiting.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { PACKAGE_ROOT } from "../src/binary.js";
import type { Logger } from "../src/logger.js";

export const REPO_ROOT = resolve(PACKAGE_ROOT, "..", "..");

/** The real engine: $NATIVELM_BIN, else <repo>/build/nativelm (what the README's test command builds). */
export const NATIVELM_BIN = process.env.NATIVELM_BIN
  ? resolve(process.env.NATIVELM_BIN)
  : join(REPO_ROOT, "build", "nativelm");

/** The shared data folder: $NLM_SHARED_DIR, else ../shared beside the repository (as the C++ tests). */
export const SHARED_DIR = process.env.NLM_SHARED_DIR ? resolve(process.env.NLM_SHARED_DIR) : resolve(REPO_ROOT, "..", "shared");

/** What the C++ replay test gives the engine: the embedded default model's folder. */
export const ENGINE_ENV = { NLM_DEFAULT_MODEL_DIR: join(REPO_ROOT, "models") };

export function requireRealBinary(): string {
  if (!existsSync(NATIVELM_BIN)) {
    throw new Error(`nativelm binary not found at ${NATIVELM_BIN}: build it (make build) or set NATIVELM_BIN`);
  }
  return NATIVELM_BIN;
}

/** Generous for spawns on a loaded 2-core machine. */
export const START_TIMEOUT_MS = 30000;

export interface RecordingLogger extends Logger {
  lines: { level: string; message: string }[];
  text(): string;
}

export function recordingLogger(): RecordingLogger {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return {
    lines,
    debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"),
    text: () => lines.map((l) => `${l.level}: ${l.message}`).join("\n"),
  };
}

/** A temporary folder, removed by the returned cleanup. */
export function tempDir(): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), "nativelm-ts-"));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** An executable that runs the fake engine (test/fixtures/fake-engine.mjs) with this Node. */
export function fakeEngineBinary(dir: string): string {
  const script = join(PACKAGE_ROOT, "test", "fixtures", "fake-engine.mjs");
  const path = join(dir, "fake-nativelm");
  writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Polls `cond` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether `pid` is still a running process. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
