# Generates hf_jinja_e2e_python.json: Python Jinja2 renders (transformers' environment, oracle.py,
# including its {% generation %} extension) of the hf_jinja_e2e_cases.json cases whose
# python_jinja2_status is not MATCH. SmolLM3 reads strftime_now: rendered at 2025-07-10 like the
# huggingface.js test; the others at 2024-07-26.
import datetime, json, os, sys, jinja2
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle
here = os.path.dirname(os.path.abspath(__file__))
d = json.load(open(os.path.join(here, "hf_jinja_e2e_cases.json")))["cases"]
out = {"_source": "Python Jinja2 " + jinja2.__version__ + " via oracle.py (transformers' chat-template environment)", "cases": {}}
for name, c in d.items():
    if c["python_jinja2_status"] == "MATCH":
        continue
    now = datetime.datetime(2025, 7, 10) if name == "HuggingFaceTB/SmolLM3-3B" else datetime.datetime(2024, 7, 26)
    r = oracle.render(c["chat_template"], c["data"], now)
    out["cases"][name] = {"render": r["text"] if r["ok"] else None, "error": None if r["ok"] else r["error"],
                          "equals_target": r["ok"] and r["text"] == c["target"]}
json.dump(out, open(os.path.join(here, "hf_jinja_e2e_python.json"), "w"), ensure_ascii=False, indent=1)
print(json.dumps({k: v["equals_target"] for k, v in out["cases"].items()}))
