# Generates tests/data/templates/jinja_files_expected.json: Python Jinja2 (transformers' environment,
# oracle.py) renders of every .jinja template with one conversation (system, user, assistant with a
# tool call, tool result, assistant, user) and one tool.
import json, glob, os, datetime, sys, jinja2
sys.path.insert(0, os.path.dirname(__file__))
import oracle
conv = [
  {"role": "system", "content": "You are a helpful assistant."},
  {"role": "user", "content": "What is the weather in Paris?"},
  {"role": "assistant", "content": "", "tool_calls": [{"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
  {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 21, \"unit\": \"celsius\"}"},
  {"role": "assistant", "content": "It is 21 °C in Paris."},
  {"role": "user", "content": "Thanks! And tomorrow?"},
]
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city.",
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city name"},
  "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}]
out = {"_source": "Rendered by Python Jinja2 " + jinja2.__version__ + " in transformers' chat-template environment (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, {% generation %}, tojson = json.dumps(ensure_ascii=False), raise_exception, strftime_now fixed at 2024-07-26 = now 1721952000 UTC) from the .jinja files beside this file.",
       "now": 1721952000, "bos_token": "<s>", "eos_token": "</s>", "messages": conv, "tools": tools, "cases": []}
import copy
conv_str = copy.deepcopy(conv)
conv_str[2]["tool_calls"][0]["function"]["arguments"] = json.dumps(conv[2]["tool_calls"][0]["function"]["arguments"])
out["messages_string_arguments"] = conv_str
# Variables some templates need in their own format (what their model cards document).
extra = {
  "fireworks-ai-llama-3-firefunction-v2.jinja": {"functions": json.dumps([t["function"] for t in tools]), "datetime": "2024-07-26"},
  "CohereForAI-c4ai-command-r-plus-tool_use.jinja": {"tools": [{"name": "get_weather", "description": "Get the current weather for a city.",
      "parameter_definitions": {"city": {"description": "The city name", "type": "str", "required": True}}}]},
}
out["extra_variables"] = extra
for path in sorted(glob.glob(sys.argv[1] + "/*.jinja")):
    tpl = open(path).read()
    name = os.path.basename(path)
    for with_tools in (False, True):
        for string_args in (False, True):
            ctx = {"messages": conv_str if string_args else conv, "tools": tools if with_tools else None, "documents": None,
                   "add_generation_prompt": True, "bos_token": "<s>", "eos_token": "</s>"}
            if with_tools: ctx.update(extra.get(name, {}))
            r = oracle.render(tpl, ctx, datetime.datetime(2024, 7, 26))
            out["cases"].append({"file": name, "with_tools": with_tools, "string_arguments": string_args,
                                 "expected": r["text"] if r["ok"] else None, "python_error": None if r["ok"] else r["error"]})
json.dump(out, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
for c in out["cases"]: print(c["file"], c["with_tools"], c["string_arguments"], "OK" if c["expected"] is not None else c["python_error"][:100])
