// Where the `nativelm` binary is: the path given, else $NATIVELM_BIN, else next to the package
// (<package>/bin/nativelm, <package>/nativelm), else the first `nativelm` on PATH.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { NativeLMError } from "./errors.js";

const EXE = process.platform === "win32" ? "nativelm.exe" : "nativelm";

/** The package's root folder (the one holding package.json). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Candidate paths, in the order they are tried. */
export function binaryCandidates(explicit?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit];
  const out: string[] = [];
  if (env.NATIVELM_BIN) out.push(env.NATIVELM_BIN);
  out.push(join(PACKAGE_ROOT, "bin", EXE), join(PACKAGE_ROOT, EXE));
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir) out.push(join(dir, EXE));
  }
  return out;
}

/** The binary to run; a NativeLMError("engine_unavailable") naming every place looked at if none. */
export function resolveBinary(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = binaryCandidates(explicit, env);
  for (const c of candidates) {
    if (isExecutable(c)) return resolve(c);
  }
  const where = explicit
    ? `'${explicit}' (binaryPath) is not an executable file`
    : `looked at $NATIVELM_BIN, ${join(PACKAGE_ROOT, "bin", EXE)}, ${join(PACKAGE_ROOT, EXE)} and PATH`;
  throw new NativeLMError("engine_unavailable", `[nativelm] binary not found: ${where}`, { backend: "nativelm" });
}
