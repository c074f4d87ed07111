// The transformers.js oracle for nativelm's tokenizer differential test.
//   node oracle.mjs <tokenizers-dir> <corpus.json> <out.json> [name…]
// Loads each named tokenizer folder offline with AutoTokenizer and writes, for every corpus text, the ids
// with and without special tokens: {"<name>": {"with": [[…]…], "without": [[…]…]}, "_meta": {...}}.
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoTokenizer } from '@huggingface/transformers';

const [, , dir, corpusPath, outPath, ...names] = process.argv;
if (!dir || !corpusPath || !outPath) {
  console.error('usage: node oracle.mjs <tokenizers-dir> <corpus.json> <out.json> [name…]');
  process.exit(2);
}
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.resolve(dir) + '/';

const corpus = JSON.parse(fs.readFileSync(corpusPath, 'utf8'));
const list = names.length ? names : ['all-MiniLM-L6-v2', 'all-mpnet-base-v2', 'SmolLM2-135M-Instruct',
  'Qwen2.5-0.5B-Instruct', 'Llama-3.2'];
const pkg = JSON.parse(fs.readFileSync(new URL('./node_modules/@huggingface/transformers/package.json', import.meta.url)));
const out = { _meta: { oracle: `@huggingface/transformers ${pkg.version}`, corpus: path.basename(corpusPath) } };
for (const name of list) {
  const tok = await AutoTokenizer.from_pretrained(name);
  out[name] = {
    with: corpus.map((t) => Array.from(tok.encode(t, { add_special_tokens: true }))),
    without: corpus.map((t) => Array.from(tok.encode(t, { add_special_tokens: false }))),
  };
}
fs.writeFileSync(outPath, JSON.stringify(out));
