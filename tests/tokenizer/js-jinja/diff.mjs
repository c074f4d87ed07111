// Differential test: every chat-template case of tests/data/templates rendered by @huggingface/jinja
// and by `nativelm serve` (apply_template) on the same inputs. Both get the context with object keys
// in the case files' order (the server keeps the request line's order), the same bos/eos tokens, raise_exception,
// and both libraries' own raise_exception and strftime_now (the current date: templates that print it
// differ from the Python references, which were made at 2024-07-26). Prints every disagreement with the Python Jinja2 reference's
// verdict, and exits 1 when nativelm departs from Python Jinja2 (the project's reference) where
// @huggingface/jinja agrees with Python.
// Usage: NLM_BINARY=build/nativelm node diff.mjs   (from this folder: npm test)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Template } from "@huggingface/jinja";

const here = new URL(".", import.meta.url).pathname;
const data = here + "../../data/templates/";
const binary = process.env.NLM_BINARY ?? here + "../../../build/nativelm";
const load = (f) => JSON.parse(readFileSync(data + f, "utf8"));

// [name, template, messages, variables, python expected (string) or null (raises)]
const cases = [];
const e2e = load("hf_jinja_e2e_cases.json").cases;
const py = load("hf_jinja_e2e_python.json").cases;
for (const [name, c] of Object.entries(e2e)) {
  const { messages, ...vars } = c.data;
  cases.push([name, c.chat_template, messages, vars, name in py ? py[name].render : c.target]);
}
const lc = load("chat_template_cases.json");
for (const c of lc.cases) {
  cases.push([c.name, c.template_str, lc.conversation, { bos_token: c.bos_token, eos_token: c.eos_token, add_generation_prompt: true }, c.hf_jinja2_render]);
}
const jf = load("jinja_files_expected.json");
for (const c of jf.cases) {
  const vars = { bos_token: jf.bos_token, eos_token: jf.eos_token, add_generation_prompt: true, documents: null, tools: c.with_tools ? jf.tools : null };
  if (c.with_tools) Object.assign(vars, jf.extra_variables[c.file] ?? {});
  cases.push([`${c.file}${c.with_tools ? " +tools" : ""}${c.string_arguments ? " +str-args" : ""}`, readFileSync(data + c.file, "utf8"),
    c.string_arguments ? jf.messages_string_arguments : jf.messages, vars, c.expected]);
}

function renderJs(template, messages, vars) {
  try {
    const t = new Template(template);
    const ctx = { ...vars, messages };
    return { ok: true, text: t.render(ctx) };
  } catch (e) {
    return { ok: false, text: String(e.message ?? e) };
  }
}

const proc = spawn(binary, ["serve"], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, TZ: "UTC" } });
const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
let agree = 0, nativeMatchesPython = 0, regressions = 0;
for (const [name, template, messages, vars, expected] of cases) {
  proc.stdin.write(JSON.stringify({ command: "apply_template", template, messages, variables: vars }) + "\n");
  const resp = JSON.parse((await lines.next()).value);
  const nat = resp.success ? { ok: true, text: resp.prompt } : { ok: false, text: resp.error };
  const js = renderJs(template, messages, vars);
  const same = nat.ok === js.ok && (!nat.ok || nat.text === js.text);
  // Python's verdict on the sorted-key input is only known where key order cannot matter; report both.
  const natPy = expected === null ? !nat.ok : nat.ok && nat.text === expected;
  const jsPy = expected === null ? !js.ok : js.ok && js.text === expected;
  if (same) { agree++; continue; }
  if (natPy) nativeMatchesPython++;
  if (!natPy && jsPy) regressions++;
  console.log(`DIFF ${name}: nativelm ${nat.ok ? "rendered" : "failed"}${natPy ? " (= Python)" : ""}, @huggingface/jinja ${js.ok ? "rendered" : "failed: " + js.text.slice(0, 120)}${jsPy ? " (= Python)" : ""}`);
}
proc.stdin.end();
console.log(`${cases.length} cases: ${agree} identical; ${cases.length - agree} differ (${nativeMatchesPython} where nativelm equals Python Jinja2, ${regressions} where only @huggingface/jinja does)`);
process.exit(regressions > 0 ? 1 : 0);
