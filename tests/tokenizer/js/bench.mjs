// transformers.js throughput on the same documents as bench/tokenizer_bench.cpp.
//   node bench.mjs <tokenizers-dir> <docs.json> <name>…   → one JSON line per tokenizer: {name, mb_per_s, tokens}
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoTokenizer } from '@huggingface/transformers';

const [, , dir, docsPath, ...names] = process.argv;
env.allowRemoteModels = false;
env.localModelPath = path.resolve(dir) + '/';
const docs = JSON.parse(fs.readFileSync(docsPath, 'utf8'));
const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, 'utf8'), 0);
for (const name of names) {
  const tok = await AutoTokenizer.from_pretrained(name);
  for (const d of docs) tok.encode(d, { add_special_tokens: false });  // warm-up
  let best = Infinity, tokens = 0;
  for (let rep = 0; rep < 3; ++rep) {
    const t0 = process.hrtime.bigint();
    tokens = 0;
    for (const d of docs) tokens += tok.encode(d, { add_special_tokens: false }).length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({ name, mb_per_s: bytes / 1e6 / best, tokens, bytes }));
}
