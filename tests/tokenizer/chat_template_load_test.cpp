// tok::ChatTemplate::load_for_model: where templates and special tokens come from, named templates,
// the ChatML fallback and stop strings. Expected renders are what Python Jinja2 gives for these sources.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/subprocess.h"
#include "tokenizer/chat_template.h"

namespace nlm::testing {
namespace {

namespace fs = std::filesystem;
using OJson = nlohmann::ordered_json;

struct TempDir {
  TempDir() : path(fs::temp_directory_path() / ("nlm_chat_template_" + std::to_string(getpid()))) { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
  fs::path path;
};

const OJson kUser = OJson::parse(R"([{"role": "user", "content": "Hi"}])");

TEST(ChatTemplateLoad, SmolLm2FolderWithJinjaFile) {
  auto t = tok::ChatTemplate::load_for_model(source_dir() + "/tests/data/templates/SmolLM2-135M-Instruct");
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_FALSE((*t)->is_fallback());
  tok::ChatRenderOptions o;
  auto r = (*t)->render(kUser, o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*r, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ((*t)->stop_strings(), std::vector<std::string>{"<|im_end|>"});
}

TEST(ChatTemplateLoad, NamedTemplatesAndAddedTokenDicts) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({
    "bos_token": {"content": "<s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
    "eos_token": "</s>",
    "chat_template": [
      {"name": "default", "template": "{{ bos_token }}D:{{ messages[0].content }}{{ eos_token }}"},
      {"name": "tool_use", "template": "{{ bos_token }}T:{{ tools|length }}:{{ tools[0].name }}"}
    ]})");
  auto t = tok::ChatTemplate::load_for_model(dir.path.string());
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ((*t)->template_names(), (std::vector<std::string>{"default", "tool_use"}));
  tok::ChatRenderOptions o;
  EXPECT_EQ(*(*t)->render(kUser, o), "<s>D:Hi</s>");
  o.tools = OJson::parse(R"([{"name": "f"}])");
  EXPECT_EQ(*(*t)->render(kUser, o), "<s>T:1:f");
  o.template_name = "default";
  EXPECT_EQ(*(*t)->render(kUser, o), "<s>D:Hi</s>");
  o.template_name = "missing";
  EXPECT_FALSE((*t)->render(kUser, o).is_ok());
  EXPECT_EQ((*t)->stop_strings(), std::vector<std::string>{"</s>"});
}

TEST(ChatTemplateLoad, VariablesOverrideAndNoneTools) {
  auto t = tok::ChatTemplate::from_source(
      "{{ tools is none }}|{{ enable_thinking }}|{{ bos_token }}|{{ add_generation_prompt }}", OJson{{"bos_token", "<s>"}});
  ASSERT_TRUE(t.is_ok());
  tok::ChatRenderOptions o;
  o.variables = OJson{{"enable_thinking", false}, {"bos_token", {{"content", "<B>"}}}};
  EXPECT_EQ(*(*t)->render(kUser, o), "True|False|<B>|True");
}

TEST(ChatTemplateLoad, FallbackAndErrors) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({"eos_token": "<|endoftext|>"})");
  auto t = tok::ChatTemplate::load_for_model(dir.path.string());
  ASSERT_TRUE(t.is_ok());
  EXPECT_TRUE((*t)->is_fallback());
  tok::ChatRenderOptions o;
  auto parts = OJson::parse(R"([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]}])");
  EXPECT_EQ(*(*t)->render(parts, o), "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ((*t)->stop_strings(), (std::vector<std::string>{"<|endoftext|>", "<|im_end|>"}));

  dir.write("tokenizer_config.json", "{not json");
  EXPECT_EQ(tok::ChatTemplate::load_for_model(dir.path.string()).status().code(), core::ErrorCode::kModelLoadFailed);
  dir.write("tokenizer_config.json", R"({"chat_template": "{% for %}"})");
  EXPECT_EQ(tok::ChatTemplate::load_for_model(dir.path.string()).status().code(), core::ErrorCode::kTemplateError);
  EXPECT_EQ(tok::ChatTemplate::load_for_model((dir.path / "nope").string()).status().code(), core::ErrorCode::kModelNotFound);
}

}  // namespace
}  // namespace nlm::testing
