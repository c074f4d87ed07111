# Dev oracle: renders like transformers.apply_chat_template's Jinja environment.
import json, sys, datetime
import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2 import nodes

class Generation(Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)
    def _render(self, caller):
        return caller()

def make_env(now=datetime.datetime(2024, 7, 26)):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)
    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    def strftime_now(fmt):
        return now.strftime(fmt)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env

def render(template, ctx, now=datetime.datetime(2024, 7, 26)):
    try:
        return {"ok": True, "text": make_env(now).from_string(template).render(**ctx)}
    except Exception as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}

if __name__ == "__main__":
    tpl = open(sys.argv[1]).read()
    ctx = json.load(open(sys.argv[2]))
    r = render(tpl, ctx)
    sys.stdout.write(r["text"] if r["ok"] else "ERR " + r["error"] + "\n")
