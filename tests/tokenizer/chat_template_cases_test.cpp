// Real chat templates rendered through `apply_template` on the real binary, against renders made by
// other implementations (tests/data/templates, MANIFEST.md):
//   hf_jinja_e2e_cases.json      huggingface.js e2e targets (python_jinja2_status says where Python agrees)
//   chat_template_cases.json     llama.cpp's cases; hf_jinja2_render = Python Jinja2 in transformers' setup
//   jinja_files_expected.json    every .jinja file with a tool conversation, rendered by Python Jinja2
// The same cases also run in process through tok::ChatTemplate (keeps every object's key order).
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "support/subprocess.h"
#include "tokenizer/chat_template.h"

namespace nlm::testing {
namespace {

using nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr int64_t kNow = 1721995200;        // 2024-07-26 12:00 UTC: the Python references' date in any time zone
constexpr int64_t kSmolLm3Now = 1752148800;  // 2025-07-10 12:00 UTC, the huggingface.js test's date

OJson load(const std::string& name) {
  std::ifstream f(source_dir() + "/tests/data/templates/" + name);
  EXPECT_TRUE(f) << name;
  return OJson::parse(f);
}

std::string read_text(const std::string& name) {
  std::ifstream f(source_dir() + "/tests/data/templates/" + name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct Case {
  std::string name;
  std::string source;
  OJson messages;
  OJson variables;  // the rest of the render context
  int64_t now = kNow;
  std::optional<std::string> expected;  // nullopt: the template raises / fails
};

std::vector<Case> e2e_cases() {
  std::vector<Case> out;
  OJson d = load("hf_jinja_e2e_cases.json");
  // Where Python Jinja2 (in transformers' setup) disagrees with the huggingface.js target, Python wins.
  OJson python = load("hf_jinja_e2e_python.json")["cases"];
  for (auto it = d["cases"].begin(); it != d["cases"].end(); ++it) {
    Case c{it.key(), it.value()["chat_template"], it.value()["data"]["messages"], it.value()["data"]};
    c.variables.erase("messages");
    if (c.name == "HuggingFaceTB/SmolLM3-3B") c.now = kSmolLm3Now;
    c.expected = it.value()["target"].get<std::string>();
    if (python.contains(c.name)) {
      const OJson& p = python[c.name];
      c.expected = p["render"].is_null() ? std::nullopt : std::optional<std::string>(p["render"].get<std::string>());
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Case> llama_cpp_cases() {
  std::vector<Case> out;
  OJson d = load("chat_template_cases.json");
  for (const auto& e : d["cases"]) {
    Case c{e["name"], e["template_str"], d["conversation"],
           OJson{{"bos_token", e["bos_token"]}, {"eos_token", e["eos_token"]}, {"add_generation_prompt", true}}};
    if (!e["hf_jinja2_render"].is_null()) c.expected = e["hf_jinja2_render"].get<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Case> jinja_file_cases() {
  std::vector<Case> out;
  OJson d = load("jinja_files_expected.json");
  for (const auto& e : d["cases"]) {
    const std::string file = e["file"];
    Case c{file + (e["with_tools"].get<bool>() ? " +tools" : "") + (e["string_arguments"].get<bool>() ? " +str-args" : ""),
           read_text(file), e["string_arguments"].get<bool>() ? d["messages_string_arguments"] : d["messages"],
           OJson{{"bos_token", d["bos_token"]}, {"eos_token", d["eos_token"]}, {"add_generation_prompt", true},
                 {"documents", nullptr}, {"tools", e["with_tools"].get<bool>() ? d["tools"] : OJson()}}};
    if (e["with_tools"].get<bool>() && d["extra_variables"].contains(file)) {
      for (auto it = d["extra_variables"][file].begin(); it != d["extra_variables"][file].end(); ++it) c.variables[it.key()] = it.value();
    }
    if (!e["expected"].is_null()) c.expected = e["expected"].get<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

void expect_render(const Case& c, bool ok, const std::string& got, const std::string& code) {
  if (c.expected) {
    ASSERT_TRUE(ok) << c.name << ": " << code << " " << got;
    EXPECT_EQ(got, *c.expected) << c.name;
  } else {
    EXPECT_FALSE(ok) << c.name << " rendered, but Python Jinja2 raises";
    if (!ok) {
      EXPECT_EQ(code, "template_error") << c.name;
    }
  }
}

// In process: tok::ChatTemplate with ordered JSON (key order as in the files).
void run_in_process(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto t = tok::ChatTemplate::from_source(c.source);
    if (!t.is_ok()) {
      expect_render(c, false, t.status().message(), std::string(core::error_code_name(t.status().code())));
      continue;
    }
    tok::ChatRenderOptions o;
    o.add_generation_prompt = false;
    o.variables = c.variables;
    o.now_unix = c.now;
    auto r = (*t)->render(c.messages, o);
    expect_render(c, r.is_ok(), r.is_ok() ? *r : r.status().message(), r.is_ok() ? "" : std::string(core::error_code_name(r.status().code())));
  }
}

// Through the binary, one server for all cases. The request line keeps every object's key order as in
// the case files (the server hands templates the client's order), so each case must render its reference.
void run_binary(const std::vector<Case>& cases) {
  Subprocess p(serve_argv());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string line = OJson{{"command", "apply_template"}, {"template", c.source}, {"messages", c.messages},
                                   {"variables", c.variables}, {"now", c.now}}.dump();
    ASSERT_TRUE(p.write_line(line));
    auto resp = p.read_json();
    ASSERT_TRUE(resp.has_value()) << p.stderr_text();
    const bool ok = resp->value("success", false);
    expect_render(c, ok, ok ? (*resp)["prompt"].get<std::string>() : resp->value("error", ""), resp->value("code", ""));
  }
}

TEST(ChatTemplateCases, HfJinjaE2eInProcess) { run_in_process(e2e_cases()); }
TEST(ChatTemplateCases, LlamaCppCasesInProcess) { run_in_process(llama_cpp_cases()); }
TEST(ChatTemplateCases, JinjaFilesInProcess) { run_in_process(jinja_file_cases()); }
TEST(ChatTemplateCases, HfJinjaE2eBinary) { run_binary(e2e_cases()); }
TEST(ChatTemplateCases, LlamaCppCasesBinary) { run_binary(llama_cpp_cases()); }
TEST(ChatTemplateCases, JinjaFilesBinary) { run_binary(jinja_file_cases()); }

// Every .jinja file renders the tool conversation, or fails only through its own raise_exception.
TEST(ChatTemplateCases, EveryJinjaFileRendersOrRaisesOnPurpose) {
  OJson d = load("jinja_files_expected.json");
  std::map<std::string, bool> rendered;
  for (const auto& e : d["cases"]) {
    const std::string file = e["file"];
    const bool ok = !e["expected"].is_null();
    const bool raised = !ok && e["python_error"].get<std::string>().rfind("TemplateError:", 0) == 0;
    rendered[file] = rendered[file] || ok || raised;
  }
  EXPECT_GE(rendered.size(), 18u);
  for (const auto& [file, good] : rendered) EXPECT_TRUE(good) << file;
}

}  // namespace
}  // namespace nlm::testing
