// The Jinja interpreter on language features, against what Python Jinja2 3.1.6 renders in transformers'
// chat-template environment for the same template and context (expected strings taken from that run),
// plus the errors and limits that protect the server.
#include <gtest/gtest.h>

#include "tokenizer/jinja/template.h"

namespace nlm::tok::jinja {
namespace {

struct Case {
  const char* source;
  const char* context;
  bool error;
  const char* expected;  // the render, or (error) a substring of the message
};

const Case kCases[] = {
    {R"J({% for i in range(3) %}{% if i == 0 %}{% set x = "a" %}{% endif %}[{{ x }}]{% endfor %})J", R"J({})J", false, R"J([a][][])J"},
    {R"J({{ 10 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 0.1 + 0.2 }})J", R"J({})J", false, R"J(5.0 3 -4 2 1024 1e+20 1.5e-07 0.30000000000000004)J"},
    {R"J({{ ["a", 1, 1.0, none, true, {"k": "v"}] }}|{{ (1,) }})J", R"J({})J", false, R"J(['a', 1, 1.0, None, True, {'k': 'v'}]|(1,))J"},
    {R"J({% for a, b in [[1,2],[3,4]] if a > 1 %}{{a}}{{b}}{{ loop.length }}{% else %}E{% endfor %})J", R"J({})J", false, R"J(341)J"},
    {R"J({% set ns = namespace(n=0) %}{% for x in "abc" %}{% set ns.n = ns.n + loop.index %}{% endfor %}{{ ns.n }})J", R"J({})J", false, R"J(6)J"},
    {R"J({% macro m(a, b=2) %}<{{ a }}{{ b }}{{ caller() if caller is defined }}>{% endmacro %}{{ m(1) }}{% call m(3, b=4) %}C{% endcall %})J", R"J({})J", false, R"J(<12><34C>)J"},
    {R"J({{ {"b":1,"a":2}|dictsort }}{{ [1,2,3]|batch(2)|list }}{{ [3,1,2]|sort(reverse=true) }}{{ [{"n":"x"},{"n":"y"}]|map(attribute="n")|join(",") }})J", R"J({})J", false, R"J([('a', 2), ('b', 1)][[1, 2], [3]][3, 2, 1]x,y)J"},
    {R"J({{ "  Hello World  ".strip().lower().split(" ") }}{{ "a-b c"|title }}{{ "ab".startswith(("x", "a")) }}{{ "{} {x}".format(1, x=2) }})J", R"J({})J", false, R"J(['hello', 'world']A-B CTrue1 2)J"},
    {R"J({{ x|tojson }}|{{ x|tojson(indent=2) }})J", R"J({"x": {"z": [1, 2.5, null, true], "a": "é\"\n"}})J", false, R"J({"z": [1, 2.5, null, true], "a": "é\"\n"}|{
  "z": [
    1,
    2.5,
    null,
    true
  ],
  "a": "é\"\n"
})J"},
    {R"J({%- if true -%}
  A
{%- endif %}
  {% if true %}
B
  {% endif %}
C {#- c -#} D
{% raw %}{{ x }}{% endraw %})J", R"J({})J", false, R"J(AB
CD
{{ x }})J"},
    {R"J({{ x.y }}{{ x is defined }}{{ none is none }}{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ "a" is string }}{{ {} is mapping }})J", R"J({})J", true, R"J('x' is undefined)J"},
    {R"J({% for m in messages %}{% if loop.first %}F{% endif %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.previtem|default("-") }}{% if loop.last %}L{% endif %}{% endfor %})J", R"J({"messages": [1, 2, 3]})J", false, R"J(F03-121212L)J"},
    {R"J({% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %})J", R"J({})J", false, R"J(0134)J"},
    {R"J({% set s %}in{{ 1 }}{% endset %}{{ s|upper }}{% filter upper %}low{% endfilter %}{{ "x"|safe + "<" }})J", R"J({})J", false, R"J(IN1LOWx&lt;)J"},
    {R"J({{ "héllo"[1:3] }}{{ "héllo"|length }}{{ [1,2,3,4][::-1] }}{{ [1,2,3][-1] }}{{ "abc"|reverse }})J", R"J({})J", false, R"J(él5[4, 3, 2, 1]3cba)J"},
};

void check_case(const Case& c) {
  SCOPED_TRACE(c.source);
  auto t = Template::parse(c.source);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  auto r = t->render(nlohmann::ordered_json::parse(c.context));
  if (c.error) {
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), core::ErrorCode::kTemplateError);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
  } else {
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(*r, c.expected);
  }
}

TEST(JinjaEngine, MatchesPythonJinja2) {
  for (const Case& c : kCases) check_case(c);
}

// {% for … recursive %}: loop(items) renders the body again one level deeper (loop.depth, depth0), in the
// loop statement's scope; else, if-filters and break apply per level. Expected strings and, for errors,
// Jinja2's exception (in the comment) from the same oracle run.
constexpr const char* kTree =
    R"J({"tree": [{"n": "a", "c": [{"n": "b", "c": []}, {"n": "c", "c": [{"n": "d"}]}]}, {"n": "e", "c": [{"n": "f", "keep": false}]}]})J";
const Case kRecursiveCases[] = {
    {R"J({% for x in tree recursive %}[{{ loop.depth }}{{ loop.depth0 }}{{ x.n }}{% if x.c %}({{ loop(x.c) }}){% endif %}]{% endfor %})J",
     kTree, false, R"J([10a([21b][21c([32d])])][10e([21f])])J"},
    {R"J({% for x in tree recursive %}{{ x.n }}{{ loop.index }}/{{ loop.length }}{{ 'F' if loop.first }}{{ 'L' if loop.last }}{{ loop.previtem.n if loop.previtem is defined else '-' }}{{ loop.nextitem.n if loop.nextitem is defined else '-' }}<{{ loop(x.c or []) }}>{% endfor %})J",
     kTree, false, R"J(a1/2F-e<b1/2F-c<>c2/2Lb-<d1/1FL--<>>>e2/2La-<f1/1FL--<>>)J"},
    {R"J({% for x in tree if x.keep is not defined or x.keep recursive %}{{ x.n }}{{ loop.length }}{% if x.c %}({{ loop(x.c) }}){% endif %}{% endfor %})J",
     kTree, false, R"J(a2(b2c2(d1))e2())J"},
    {R"J({% for x in tree recursive %}{{ x.n }}{{ loop(x.c or []) }}{% else %}_{% endfor %})J", kTree, false,
     R"J(ab_cd_ef_)J"},
    {R"J({% for x in tree recursive %}{% if x.c %}{% set v = x.n %}{% endif %}<{{ v }}{{ loop(x.c or []) }}>{% endfor %})J",
     kTree, false, R"J(<a<><c<>>><e<>>)J"},
    {R"J({% set v = 'T' %}{% for x in tree recursive %}{% set v = x.n %}{{ loop(x.c or []) }}{{ v }}{% endfor %}{{ v }})J",
     kTree, false, R"J(bdcafeT)J"},
    {R"J({% for x in tree recursive %}{% set outer = loop %}{% for y in [1, 2] %}{{ x.n }}{{ y }}{{ loop.depth }}{% if loop.last and x.c %}({{ outer(x.c) }}){% endif %}{% endfor %}{% endfor %})J",
     kTree, false, R"J(a11a21(b11b21c11c21(d11d21))e11e21(f11f21))J"},
    {R"J({% for x in tree recursive %}{% if x.n == 'c' %}{% break %}{% endif %}{{ x.n }}{% if x.c %}({{ loop(x.c) }}){% endif %}{% endfor %})J",
     kTree, false, R"J(a(b)e(f))J"},
    {R"J({% for x in tree recursive %}{{ x.n }}{% if x.c %}{{ loop(x.c)|length }}{{ (loop(x.c) ~ '!')|upper }}{% endif %}{% endfor %})J",
     kTree, false, R"J(a5BC1D!!e1F!)J"},
    {R"J({% for x in tree recursive %}{{ loop.cycle('o', 'e') }}{{ x.n }}{% if x.c %}[{{ loop(x.c) }}]{% endif %}{% endfor %})J",
     kTree, false, R"J(oa[obec[od]]ee[of])J"},
    {R"J({% for k, v in d|dictsort recursive %}{{ k }}={% if v is mapping %}{ {{- loop(v|dictsort) -}} }{% else %}{{ v }}{% endif %};{% endfor %})J",
     R"J({"d": {"b": {"y": 1, "x": {"z": 2}}, "a": 0}})J", false, R"J(a=0;b={x={z=2;};y=1;};)J"},
    {R"J({% macro show(items) %}{% for m in items recursive %}{{ m.role }}:{{ m.content if m.content is string else loop(m.content) }};{% endfor %}{% endmacro %}{{ show(messages) }})J",
     R"J({"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": [{"role": "part", "content": "x"}, {"role": "part", "content": "y"}]}]})J",
     false, R"J(user:hi;tool:part:x;part:y;;)J"},
    // TypeError: The loop must have the 'recursive' marker to be called recursively.
    {R"J({% for x in [1] %}{{ loop([2]) }}{% endfor %})J", "{}", true, R"J(The loop must have the 'recursive' marker)J"},
    // TypeError: LoopContext.__call__() missing 1 required positional argument: 'iterable'
    {R"J({% for x in [1] recursive %}{{ loop() }}{% endfor %})J", "{}", true, R"J(loop() takes exactly one argument)J"},
    // TypeError: LoopContext.__call__() takes 2 positional arguments but 3 were given
    {R"J({% for x in [1] recursive %}{{ loop([1], [2]) }}{% endfor %})J", "{}", true, R"J(loop() takes exactly one argument)J"},
    // TypeError: 'int' object is not iterable
    {R"J({% for x in [1] recursive %}{{ loop(5) }}{% endfor %})J", "{}", true, R"J('int' object is not iterable)J"},
    // RecursionError: maximum recursion depth exceeded
    {R"J({% for x in [1] recursive %}{{ loop([1]) }}{% endfor %})J", "{}", true, R"J(recursion depth)J"},
};

TEST(JinjaEngine, RecursiveLoopsMatchPythonJinja2) {
  for (const Case& c : kRecursiveCases) check_case(c);
}

TEST(JinjaEngine, SyntaxErrorsNameLineAndColumn) {
  auto t = Template::parse("line one\n{% for x in y %}\n{{ x + }}\n{% endfor %}");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), core::ErrorCode::kTemplateError);
  EXPECT_EQ(t.status().message().rfind("[jinja] line 3, column ", 0), 0u) << t.status().message();
  EXPECT_FALSE(Template::parse("{% include 'x.jinja' %}").is_ok());  // no file access
  EXPECT_FALSE(Template::parse("{{ 'unterminated }}").is_ok());
  EXPECT_FALSE(Template::parse("{% if x %}").is_ok());
}

TEST(JinjaEngine, RaiseExceptionNamesTheLine) {
  auto t = Template::parse("a\nb{{ raise_exception('nope ' ~ 1) }}");
  ASSERT_TRUE(t.is_ok());
  auto r = t->render(nlohmann::json::object());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "[jinja] line 2: nope 1 (raised by the template)");
}

TEST(JinjaEngine, WorkIsBounded) {
  RenderOptions small;
  small.limits.max_steps = 100000;
  small.limits.max_output_bytes = 1 << 20;
  const char* heavy[] = {
      "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}",  // steps
      "{{ 'x' * 100000000 }}",                                                      // one huge string
      "{% set s = 'abcdefgh' * 1000 %}{% for i in range(200) %}{{ s }}{% endfor %}",  // output size
      "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",                  // recursion depth
      "{{ range(100000000000)|length }}",                                          // sequence size
  };
  for (const char* src : heavy) {
    SCOPED_TRACE(src);
    auto t = Template::parse(src);
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    auto r = t->render(nlohmann::json::object(), small);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), core::ErrorCode::kTemplateError);
  }
}

TEST(JinjaEngine, DeepNestingIsAnErrorNotACrash) {
  std::string deep(5000, '(');
  deep = "{{ " + deep + "1" + std::string(5000, ')') + " }}";
  auto t = Template::parse(deep);
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), core::ErrorCode::kTemplateError);
}

}  // namespace
}  // namespace nlm::tok::jinja
