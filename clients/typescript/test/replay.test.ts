// Replays every tests/protocol/*.jsonl transcript against the real binary, with the step semantics of
// tests/protocol/replay_test.cpp: send, send_raw, send_hex, expect, expect_unordered, close_stdin,
// exit, args (first line), comment; patterns match as support/subprocess.cpp's json_matches.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { ENGINE_ENV, REPO_ROOT, requireRealBinary } from "./helpers.js";

const LINE_TIMEOUT_MS = 30000;  // as Subprocess::read_line
const TRANSCRIPTS = process.env.NATIVELM_TRANSCRIPTS ?? join(REPO_ROOT, "tests", "protocol");

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `expected` is a subset of `actual`; "$any", "$number", "$string", "$array", "$object" are wildcards. */
export function jsonMatches(expected: Json, actual: Json | undefined, path = ""): string | undefined {
  const at = path || "top";
  if (typeof expected === "string") {
    if (expected === "$any") return undefined;
    if (expected === "$number" && typeof actual === "number") return undefined;
    if (expected === "$string" && typeof actual === "string") return undefined;
    if (expected === "$array" && Array.isArray(actual)) return undefined;
    if (expected === "$object" && typeof actual === "object" && actual !== null && !Array.isArray(actual)) return undefined;
  }
  if (typeof expected === "object" && expected !== null && !Array.isArray(expected)) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) {
      return `at ${at}: expected an object, got ${JSON.stringify(actual)}`;
    }
    for (const [k, v] of Object.entries(expected)) {
      if (!(k in actual)) return `at ${at}: missing key '${k}' in ${JSON.stringify(actual)}`;
      const why = jsonMatches(v, actual[k], `${path}.${k}`);
      if (why) return why;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return `at ${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    }
    for (let i = 0; i < expected.length; ++i) {
      const why = jsonMatches(expected[i] as Json, actual[i], `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (expected === actual) return undefined;
  return `at ${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** The engine under replay: lines out with a deadline, bytes in, the exit code. */
class Engine {
  readonly child: ChildProcessWithoutNullStreams;
  private out = Buffer.alloc(0);
  private lines: string[] = [];
  private eof = false;
  private wake: (() => void) | undefined;
  private stderr = "";
  readonly exited: Promise<number>;

  constructor(binary: string, extra: string[]) {
    // Transcripts name model paths relative to the repository root, as replay_test.cpp runs them.
    this.child = spawn(binary, ["serve", ...extra], { env: { ...process.env, ...ENGINE_ENV }, stdio: "pipe", cwd: REPO_ROOT });
    this.child.stdin.on("error", () => {});
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.out = Buffer.concat([this.out, chunk]);
      let nl: number;
      while ((nl = this.out.indexOf(0x0a)) >= 0) {
        this.lines.push(this.out.subarray(0, nl).toString("utf8"));
        this.out = this.out.subarray(nl + 1);
      }
      this.wake?.();
    });
    this.child.stdout.on("end", () => {
      this.eof = true;
      this.wake?.();
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString("utf8");
    });
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? osSignal(signal) : 0)));
    });
  }

  stderrText(): string {
    return this.stderr.slice(-2000);
  }

  async write(data: Buffer): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.stdin.writable) {
      throw new Error("the engine's stdin is closed");
    }
    await new Promise<void>((resolve, reject) => this.child.stdin.write(data, (e) => (e ? reject(e) : resolve())));
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  /** The next stdout line, or undefined at EOF or after the timeout. */
  async readLine(): Promise<string | undefined> {
    const deadline = Date.now() + LINE_TIMEOUT_MS;
    while (this.lines.length === 0 && !this.eof && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.lines.shift();
  }

  async readJson(what: string): Promise<Json> {
    const line = await this.readLine();
    assert.ok(line !== undefined, `${what}: no output line; stderr: ${this.stderrText()}`);
    try {
      return JSON.parse(line) as Json;
    } catch {
      assert.fail(`${what}: output line is not JSON: ${line}`);
    }
  }

  async wait(): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        resolve(-1);
      }, LINE_TIMEOUT_MS);
    });
    const code = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return code;
  }
}

function osSignal(name: NodeJS.Signals): number {
  return constants.signals[name] ?? 0;
}

async function runStep(p: Engine, step: Record<string, Json>, what: string): Promise<void> {
  if ("send" in step) {
    await p.write(Buffer.from(JSON.stringify(step.send) + "\n"));
  } else if ("send_raw" in step) {
    await p.write(Buffer.from(String(step.send_raw) + "\n", "utf8"));
  } else if ("send_hex" in step) {
    await p.write(Buffer.from(String(step.send_hex), "hex"));
  } else if ("expect" in step) {
    const got = await p.readJson(what);
    const why = jsonMatches(step.expect as Json, got);
    assert.equal(why, undefined, `${what}: ${why}`);
  } else if ("expect_unordered" in step) {
    const pending = [...(step.expect_unordered as Json[])];
    while (pending.length > 0) {
      const got = await p.readJson(what);
      const i = pending.findIndex((pattern) => jsonMatches(pattern, got) === undefined);
      assert.ok(i >= 0, `${what}: unexpected line ${JSON.stringify(got)}`);
      pending.splice(i, 1);
    }
  } else if ("close_stdin" in step) {
    p.closeStdin();
  } else if ("exit" in step) {
    assert.equal(await p.wait(), step.exit, `${what}: exit code; stderr: ${p.stderrText()}`);
  }
}

async function replay(file: string): Promise<void> {
  const binary = requireRealBinary();
  const steps = readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0).map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, Json>;
    } catch {
      throw new Error(`bad transcript line ${i + 1}: ${l}`);
    }
  });
  const extra = steps[0] && "args" in steps[0] ? (steps[0].args as string[]) : [];
  const p = new Engine(binary, extra);
  try {
    for (let n = 0; n < steps.length; ++n) {
      const step = steps[n] as Record<string, Json>;
      await runStep(p, step, `step ${n + 1}: ${JSON.stringify(step).slice(0, 300)}`);
    }
  } finally {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  }
}

const files = readdirSync(TRANSCRIPTS).filter((f) => f.endsWith(".jsonl")).sort();

test("the protocol transcripts are found", () => {
  assert.ok(files.length >= 2, `expected transcripts in ${TRANSCRIPTS}`);
});

test("the matcher follows json_matches", () => {
  assert.equal(jsonMatches({ a: "$number", b: ["$string", "$any"] }, { a: 1.5, b: ["x", null], c: 3 }), undefined);
  assert.equal(jsonMatches({ o: "$object", r: "$array" }, { o: {}, r: [] }), undefined);
  assert.match(jsonMatches({ a: 1 }, { b: 1 }) ?? "", /missing key 'a'/);
  assert.match(jsonMatches({ a: "$number" }, { a: "1" }) ?? "", /expected "\$number"/);
  assert.match(jsonMatches(["$any"], ["x", "y"]) ?? "", /expected/);
  assert.match(jsonMatches({ o: "$object" }, { o: [] }) ?? "", /expected/);
  assert.equal(jsonMatches("$number", "$number"), undefined);  // a literal equal to the pattern, as in C++
  assert.match(jsonMatches(true, 1) ?? "", /expected/);
  assert.match(jsonMatches(null, {}) ?? "", /expected/);
});

for (const f of files) {
  test(`replay ${f}`, { timeout: 180000 }, () => replay(join(TRANSCRIPTS, f)));
}
