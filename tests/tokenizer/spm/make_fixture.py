#!/usr/bin/python3
"""Builds the fixtures of tests/tokenizer/precompiled_spm_test.cpp from real SentencePiece models.

    apt-get install -y sentencepiece python3-sentencepiece      # 0.1.97 (Debian 12)
    (cd tests/tokenizer/js && npm ci)          # node: tokenizers + transformers.js
    /usr/bin/python3 tests/tokenizer/spm/make_fixture.py [--train]

--train retrains the two Unigram models (spm_train, one thread) from train_corpus.txt; without it the
committed spm.model files are used; -v prints every case where SentencePiece and the library differ.
Each model is converted to a tokenizer.json the way Hugging Face transformers' converters do
(convert_slow_tokenizer.py), and the script records, for every case text:
  - SentencePiece's own ids, pieces and decode (the python3-sentencepiece binding);
  - the Hugging Face tokenizers library's (npm `tokenizers`, its Rust core) ids with and without special
    tokens, its normalizer's output, its Precompiled normalizer's output alone, its decode — the
    reference for nativelm;
  - transformers.js's ids (informational).
Ids are the SentencePiece ids: the models are trained with XLM-R's special-token layout (<s> 0, <pad> 1,
</s> 2, <unk> 3), so no fairseq offset is needed; <mask> is appended last as XLMRobertaConverter does.
"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CORPUS = os.path.join(HERE, "train_corpus.txt")
HARD_CORPUS = os.path.join(REPO, "tests", "tokenizer", "data", "hard_corpus.json")

# name -> how it is trained and converted.
MODELS = {
    # XLM-R: nmt_nfkc, no byte fallback; normalizer as in xlm-roberta-base's tokenizer.json on the Hub
    # (Precompiled, then Replace " {2,}" -> " "), <s> $A </s>, Metaspace decoder.
    "xlmr_nmt_nfkc": {"rule": "nmt_nfkc", "byte_fallback": False, "vocab_size": 1500, "normalizer": "hub_xlmr"},
    # nfkc_cf with byte fallback; normalizer as SpmConverter writes it today (Precompiled, Strip right,
    # Replace " {2,}" -> "▁"), <s> $A, and the Llama-style byte-fallback decoder.
    "nfkc_cf_byte_fallback": {"rule": "nfkc_cf", "byte_fallback": True, "vocab_size": 1800, "normalizer": "spm_converter"},
}

# Cases beyond tests/tokenizer/data/hard_corpus.json: what the charsmap rewrites, graphemes of every size
# around the 6-byte limit, whitespace of every kind, unknown characters, special-token look-alikes.
EXTRA_CASES = [
    "ｈｅｌｌｏ ｗｏｒｌｄ", "ＡＢＣ ａｂｃ ０１２３", "①②③ ⑩ ⑴ ⒈ ⓐ Ⓐ", "ﬁnance ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ",
    "Å Å Å", "Ω Ω K K", "ｶﾀｶﾅ ﾊﾟﾋﾟﾌﾟ ｶﾞｷﾞ", "パ パ ガ ガ",
    "e\u0301 e\u0301\u0323 a\u0308\u0301\u0323 q\u0307\u0323", "\u1100\u1161\u11a8 \u1100\u1161 ㄱㅏ 각",
    "a\u200bb a\u200cb a\u200db \ufeffstart a\u00adb a\u2060b", "a\u3000b a\u00a0b a\u2003b a\u202fb a\u205fb",
    "\t\tx\t", "x\r\ny", "x\ry", "x\ny", "\u3000", "a   b", " a", "a ", "\u00a0a\u00a0", "a\u2028b\u2029c\u0085d",
    "㍿ ㎞ ℃ № ™ ¼ x² Ⅻ ǅ ŉ", "ﷺ ﷻ ㈱ ⑽ 🄰 ㋀", "𝐀𝐁𝐂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚",
    "HELLO Straße ΣΑΣ ǄUNGLA ﬀ İ", "👍🏽 ❤️ 🏳️\u200d🌈 🇯🇵 1️⃣ #️⃣ ©️ ®",
    "٣٤٥ ۴ ߁ ໓ ０１２ 1,234.56", "\x00a a\x00b", "\x01\x1f\x7f\x80\x9f", "\uf900 \u2f00 \u2e80",
    "क्ष क़ \u0915\u093c", "กำ ำ", "ﻻ ﷲ ﺍﻟﻌﺮﺑﻴﺔ", "𓀀𓀁𓀂", "abc𓀀def", "ꙮ ᚠᛇᚻ ⴰⵣⵓⵍ",
    "<s>", "＜s＞", "</s>hi", "x <mask> y", "<unk> <pad>", "▁", "▁▁a", "a▁b", "___", "ﾟ", "\u0301",
    "Ｈｅｌｌｏ，　ｗｏｒｌｄ！", "〜～~ ｰ ･", "“quoted” ‘single’ «guillemets» — – …",
    "the the the the the the the the", "Tokenization normalizes Internationalization.",
    # Pieces that SentencePiece never matches in text (control, unknown, byte) but the library's
    # Unigram does; a grapheme whose first character alone has an entry (the rest is dropped).
    "＜unk＞", "a＜unk＞b", "＜unk＞𓀀", "𓀀＜unk＞", "<0x41>", "＜0x41＞x", "<0x41><0xE2>", "＜/s＞＜pad＞",
    "ｅ\u0301", "ﬁ\u0301", "①\u0301", "Ａ\u030a", "\u06001", "\u0600ａ", "ａ\u200d", "ａ\u0897",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349",
]


def protobuf_fields(buf):
    """(field number, wire type, value) of a serialized protobuf message: enough for ModelProto."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, value


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def read_model(path):
    """pieces [(piece, score, type)], trainer fields, normalizer fields of a SentencePiece .model."""
    with open(path, "rb") as f:
        buf = f.read()
    pieces, trainer, normalizer = [], {}, {}
    for field, _, value in protobuf_fields(buf):
        if field == 1:
            p = {"piece": "", "score": 0.0, "type": 1}
            for f2, _, v2 in protobuf_fields(value):
                if f2 == 1:
                    p["piece"] = v2.decode("utf-8")
                elif f2 == 2:
                    p["score"] = struct.unpack("<f", v2)[0]
                elif f2 == 3:
                    p["type"] = v2
            pieces.append((p["piece"], p["score"], p["type"]))
        elif field == 2:
            names = {3: "model_type", 35: "byte_fallback", 40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
            for f2, _, v2 in protobuf_fields(value):
                if f2 in names:
                    trainer[names[f2]] = v2
        elif field == 3:
            names = {1: "name", 2: "precompiled_charsmap", 3: "add_dummy_prefix", 4: "remove_extra_whitespaces"}
            for f2, _, v2 in protobuf_fields(value):
                if f2 in names:
                    normalizer[names[f2]] = v2
    return pieces, trainer, normalizer


def train(name, cfg):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = ["spm_train", f"--input={CORPUS}", f"--model_prefix={tmp}/m", f"--vocab_size={cfg['vocab_size']}",
                "--model_type=unigram", f"--normalization_rule_name={cfg['rule']}", "--character_coverage=1.0",
                "--bos_id=0", "--pad_id=1", "--eos_id=2", "--unk_id=3", "--num_threads=1", "--hard_vocab_limit=false",
                "--minloglevel=2", f"--byte_fallback={'true' if cfg['byte_fallback'] else 'false'}"]
        subprocess.run(args, check=True)
        os.replace(f"{tmp}/m.model", os.path.join(folder, "spm.model"))


def template(*items):
    return [{"SpecialToken": {"id": t, "type_id": tid}} if t.startswith("<") else
            {"Sequence": {"id": t, "type_id": tid}} for t, tid in items]


def to_tokenizer_json(pieces, trainer, norm, cfg):
    """The tokenizer.json Hugging Face's SpmConverter / XLMRobertaConverter would write for this model."""
    assert trainer.get("model_type", 1) == 1, "Unigram only"
    unk_id = trainer.get("unk_id", 0)
    assert pieces[unk_id][2] == 2, "unk_id names the UNKNOWN piece"
    vocab = [[p, s] for p, s, _ in pieces] + [["<mask>", 0.0]]
    mask_id = len(vocab) - 1
    added = [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, (p, _, t) in enumerate(pieces) if t in (2, 3)]
    added.append({"id": mask_id, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False,
                  "normalized": False, "special": True})
    precompiled = {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(norm["precompiled_charsmap"]).decode()}
    if cfg["normalizer"] == "hub_xlmr":
        normalizers = [precompiled, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]
        post = {"type": "TemplateProcessing", "single": template(("<s>", 0), ("A", 0), ("</s>", 0)),
                "pair": template(("<s>", 0), ("A", 0), ("</s>", 0), ("</s>", 0), ("B", 0), ("</s>", 0)),
                "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in (("<s>", 0), ("</s>", 2))}}
        decoder = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    else:
        normalizers = [precompiled, {"type": "Strip", "strip_left": False, "strip_right": True},
                       {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}]
        post = {"type": "TemplateProcessing", "single": template(("<s>", 0), ("A", 0)),
                "pair": template(("<s>", 0), ("A", 0), ("<s>", 1), ("B", 1)),
                "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}}
        decoder = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": post, "decoder": decoder,
        "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab,
                  "byte_fallback": bool(trainer.get("byte_fallback", 0))},
    }


def spm_normalized(pieces):
    """SentencePiece's normalized text (▁ for spaces) from its pieces; byte pieces are reassembled."""
    out, pending = "", b""
    for p in pieces:
        if len(p) == 6 and p.startswith("<0x") and p.endswith(">"):
            pending += bytes([int(p[3:5], 16)])
            continue
        out += pending.decode("utf-8", "replace") + p
        pending = b""
    return out + pending.decode("utf-8", "replace")


def why_spm_differs(text, m, k, added):
    """Which documented difference between SentencePiece and the tokenizers library explains case k."""
    if any(t in text for t in added):
        return "added_token"  # the library splits out special tokens written in the text; SentencePiece reads them as text
    if any(t in m["hf_normalized"][k] for t in added + ["<0x"]):
        return "unmatched_piece"  # control / unk / byte pieces: never matched by SentencePiece, matched by the library's Unigram
    squeeze = lambda s: "".join(c for c in s if not c.isspace() and c != "\u2581")
    if squeeze(m["hf_precompiled"][k]) != squeeze(m["spm_normalized"][k]):
        return "grapheme"  # the library's Precompiled works grapheme by grapheme; SentencePiece takes longest matches
    return "whitespace"  # SentencePiece strips and squeezes whitespace itself; the library's normalizer and Metaspace differ


def main():
    retrain = "--train" in sys.argv
    with open(HARD_CORPUS, encoding="utf-8") as f:
        cases = json.load(f) + EXTRA_CASES
    request = {"models": {}, "cases": cases, "decode": {}}
    models = {}
    for name, cfg in MODELS.items():
        model_path = os.path.join(HERE, name, "spm.model")
        if retrain or not os.path.exists(model_path):
            train(name, cfg)
        pieces, trainer, norm = read_model(model_path)
        assert norm.get("name", b"").decode() == cfg["rule"], norm.get("name")
        with open(os.path.join(HERE, name, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(to_tokenizer_json(pieces, trainer, norm, cfg), f, ensure_ascii=False, indent=1)
            f.write("\n")
        sp = spm.SentencePieceProcessor(model_file=model_path)
        ids = [sp.encode(t) for t in cases]
        sp_pieces = [sp.encode(t, out_type=str) for t in cases]
        models[name] = {
            "rule": cfg["rule"], "byte_fallback": cfg["byte_fallback"], "vocab_size": len(pieces) + 1,
            "spm_ids": ids, "spm_normalized": [spm_normalized(p) for p in sp_pieces],
            "spm_decoded": [sp.decode(i) for i in ids],
        }
        request["models"][name] = os.path.join(HERE, name)
        request["decode"][name] = ids
    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/request.json", "w", encoding="utf-8") as f:
            json.dump(request, f)
        subprocess.run(["node", os.path.join(HERE, "hf_oracle.mjs"), f"{tmp}/request.json", f"{tmp}/out.json"], check=True)
        with open(f"{tmp}/out.json", encoding="utf-8") as f:
            hf = json.load(f)
    meta = dict(hf.pop("_meta"), sentencepiece=spm.__version__,
                made_by="tests/tokenizer/spm/make_fixture.py", ids="SentencePiece ids = tokenizer.json ids")
    for name, r in hf.items():
        m = models[name]
        for key in ("with", "without", "tokens", "normalized", "precompiled", "decoded", "decoded_skip", "decoded_spm"):
            m["hf_" + key] = r[key]
        m["transformers_js_with"] = r["transformers_js_with"]
        m["transformers_js_without"] = r["transformers_js_without"]
        same = [k for k in range(len(cases)) if m["hf_without"][k] == m["spm_ids"][k]]
        tjs = [k for k in range(len(cases)) if m["transformers_js_without"][k] == m["hf_without"][k]]
        print(f"{name}: tokenizers == SentencePiece on {len(same)}/{len(cases)}; "
              f"transformers.js == tokenizers on {len(tjs)}/{len(cases)}")
        added = [t for t, _, ty in read_model(os.path.join(HERE, name, "spm.model"))[0] if ty in (2, 3)] + ["<mask>"]
        m["spm_differs"] = {str(k): why_spm_differs(cases[k], m, k, added) for k in range(len(cases)) if k not in same}
        for kind in ("added_token", "unmatched_piece", "grapheme", "whitespace"):
            ks = [int(k) for k, v in m["spm_differs"].items() if v == kind]
            print(f"  SentencePiece differs, {kind}: {len(ks)} {ks}")
        if "-v" in sys.argv:
            for k in map(int, m["spm_differs"]):
                print(f"  #{k} {cases[k]!r}\n    spm {m['spm_normalized'][k]!r} {m['spm_ids'][k]}\n"
                      f"    hf  {''.join(m['hf_tokens'][k])!r} {m['hf_without'][k]}")
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"_meta": meta, "cases": cases, "models": models}, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
