// The transformers.js oracle for nativelm's tokenizer differential test.
//   node oracle.mjs <tokenizers-dir> <corpus.json> <out.json> [name…]
// Loads each named tokenizer folder offline with transformers.js's AutoTokenizer and writes, for every
// corpus text, the ids with and without special tokens; and the same from the Hugging Face tokenizers
// library itself (npm `tokenizers`, its Rust core), which settles the cases where transformers.js
// departs from it: {"<name>": {"with": […], "without": […], "hf_with": […], "hf_without": […]}, "_meta": …}.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { env, AutoTokenizer } from '@huggingface/transformers';

const { Tokenizer: HfTokenizer } = createRequire(import.meta.url)('tokenizers');

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
const version = (p) => JSON.parse(fs.readFileSync(new URL(`./node_modules/${p}/package.json`, import.meta.url))).version;
const out = {
  _meta: {
    oracle: `@huggingface/transformers ${version('@huggingface/transformers')}`,
    tie_breaker: `tokenizers ${version('tokenizers')}`,
    corpus: path.basename(corpusPath),
  },
};
for (const name of list) {
  const tok = await AutoTokenizer.from_pretrained(name);
  out[name] = {
    with: corpus.map((t) => Array.from(tok.encode(t, { add_special_tokens: true }))),
    without: corpus.map((t) => Array.from(tok.encode(t, { add_special_tokens: false }))),
  };
  const hf = HfTokenizer.fromFile(path.join(dir, name, 'tokenizer.json'));
  hf.disablePadding();
  hf.disableTruncation();
  for (const [key, add] of [['hf_with', true], ['hf_without', false]]) {
    out[name][key] = [];
    for (const t of corpus) out[name][key].push(Array.from((await hf.encode(t, null, { addSpecialTokens: add })).getIds()));
  }
}
fs.writeFileSync(outPath, JSON.stringify(out));
