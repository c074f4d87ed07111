// The Hugging Face side of make_fixture.py (run by it; not by the C++ tests).
//   node hf_oracle.mjs <request.json> <out.json>
// request: {"models": {"<name>": "<folder>"}, "cases": ["text", …], "decode": {"<name>": [[ids], …]}}.
// For each model: the tokenizers library's (npm `tokenizers`, its Rust core) ids with and without special
// tokens, tokens, the whole normalizer's output, the Precompiled normalizer's output alone, the decoder's
// output; and transformers.js's ids (a third opinion: its Precompiled is NFKC plus fixed rules, not the
// charsmap, so it is expected to depart from the library).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const jsDir = path.join(here, '..', 'js');
const require = createRequire(path.join(jsDir, 'package.json'));
const hf = require('tokenizers');
const tjs = await import(
  pathToFileURL(path.join(jsDir, 'node_modules', '@huggingface', 'transformers', 'dist', 'transformers.node.mjs')).href);

const [, , requestPath, outPath] = process.argv;
const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
const version = (p) => JSON.parse(fs.readFileSync(path.join(jsDir, 'node_modules', p, 'package.json'), 'utf8')).version;
const out = { _meta: { tokenizers: version('tokenizers'), transformers_js: version('@huggingface/transformers') } };

for (const [name, folder] of Object.entries(request.models)) {
  const file = path.join(folder, 'tokenizer.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const tok = hf.Tokenizer.fromFile(file);
  tok.disablePadding();
  tok.disableTruncation();
  const charsmap = json.normalizer.normalizers.find((n) => n.type === 'Precompiled').precompiled_charsmap;
  const precompiled = hf.precompiled(Array.from(Buffer.from(charsmap, 'base64')));
  const r = { with: [], without: [], tokens: [], normalized: [], precompiled: [], decoded: [], decoded_skip: [] };
  for (const text of request.cases) {
    const w = await tok.encode(text, null, { addSpecialTokens: true });
    const wo = await tok.encode(text, null, { addSpecialTokens: false });
    r.with.push(Array.from(w.getIds()));
    r.without.push(Array.from(wo.getIds()));
    r.tokens.push(wo.getTokens());
    r.normalized.push(tok.getNormalizer().normalizeString(text));
    r.precompiled.push(precompiled.normalizeString(text));
    r.decoded.push(await tok.decode(Array.from(w.getIds()), false));
    r.decoded_skip.push(await tok.decode(Array.from(w.getIds()), true));
  }
  // Decoding SentencePiece's own ids (they may differ from the library's).
  r.decoded_spm = [];
  for (const ids of request.decode[name]) r.decoded_spm.push(await tok.decode(ids, false));
  const jsTok = new tjs.PreTrainedTokenizer(json, {});
  r.transformers_js_with = request.cases.map((t) => Array.from(jsTok.encode(t, { add_special_tokens: true })));
  r.transformers_js_without = request.cases.map((t) => Array.from(jsTok.encode(t, { add_special_tokens: false })));
  out[name] = r;
}
fs.writeFileSync(outPath, JSON.stringify(out));
