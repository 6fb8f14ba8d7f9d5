// The template language beyond the reference templates, and hostile
// templates: each must render as Jinja does or fail with a clear error in
// bounded time and memory.
#include "mlxpack/chat_template.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/value.h"

namespace mlxpack {
namespace {

std::string render(const std::string& source, const std::string& context = "{}", const TemplateLimits& limits = {}) {
  auto t = ChatTemplate::parse(source, limits);
  if (!t.is_ok()) return "PARSE ERROR: " + t.status().message();
  auto r = t->render(context);
  if (!r.is_ok()) return "ERROR: " + r.status().message();
  return *r;
}

TEST(ChatTemplate, ExpressionsAndPrinting) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ 2 ** 10 }}|{{ 1 / 2 }}"),
            "7|3|-4|1|1024|0.5");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ true }}|{{ 'x' + 'y' }}|{{ 3.0 }}|{{ none }}|{{ undefined_name }}|{{ [1, 'a'] }}"),
            "a1true|xy|3.0|||[1, \"a\"]");
  EXPECT_EQ(render("{{ {'k': [1, {'z': none}]} }}"), "{\"k\": [1, {\"z\": null}]}");
  EXPECT_EQ(render("{{ 'yes' if x else 'no' }}{{ 'a' if false }}", R"({"x": 1})"), "yes");
  EXPECT_EQ(render("{{ not a and b or c }}", R"({"a": false, "b": 0, "c": "c"})"), "c");
  EXPECT_EQ(render("{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }}"),
            "true true true true");
  EXPECT_EQ(render("{{ 'abcdef'[1:4] }}|{{ 'abcdef'[::-1] }}|{{ [1,2,3,4][-2:] }}|{{ 'héllo'[1] }}"),
            "bcd|fedcba|[3, 4]|é");
  EXPECT_EQ(render("{{ \"tab\\there\" }}|{{ 'it\\'s' }}|{{ '\\u00e9' }}"), "tab\there|it's|é");
}

TEST(ChatTemplate, WhitespaceControlFollowsTrimAndLstripBlocks) {
  EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc\n"), "a\n  b\nc");
  EXPECT_EQ(render("a   {{- 'b' -}}   c"), "abc");
  EXPECT_EQ(render("a {#- comment -#} b"), "ab");
  EXPECT_EQ(render("x{% generation %} y {% endgeneration %}z"), "x y z");
}

TEST(ChatTemplate, LoopsExposeLoopVariablesAndSupportElseFiltersAndControl) {
  EXPECT_EQ(render("{% for x in items %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}",
                   R"({"items": ["a", "b", "c"]})"),
            "1/3,2/3,3/3");
  EXPECT_EQ(render("{% for x in items if x > 1 %}{{ x }}{% else %}none{% endfor %}|{% for x in [] %}{% else %}empty{% endfor %}",
                   R"({"items": [1, 2, 3]})"),
            "23|empty");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "0134");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", R"({"d": {"b": 1, "a": 2}})"), "b=1;a=2;");
  EXPECT_EQ(render("{% for x in items %}{{ loop.previtem }}>{{ x }} {% endfor %}", R"({"items": [1, 2]})"), ">1 1>2 ");
}

TEST(ChatTemplate, SetScopingAndNamespaces) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"), "4");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(render("{% set block %}inner {{ 1 }}{% endset %}[{{ block }}]"), "[inner 1]");
}

TEST(ChatTemplate, MacrosCallBlocksAndFilterBlocks) {
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', punct='?') }}"),
            "Hi Ann! Hi Bo?");
  EXPECT_EQ(render("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}body{% endcall %}"), "<body>");
  EXPECT_EQ(render("{% macro m(a) %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}"), "[2]{\"k\": 3}");
  EXPECT_EQ(render("{% filter upper %}shout {{ 'this' }}{% endfilter %}"), "SHOUT THIS");
}

TEST(ChatTemplate, FiltersTestsAndMethods) {
  EXPECT_EQ(render("{{ '  x  '|trim }}|{{ 'ab'|upper }}|{{ 'hello world'|title }}|{{ [3,1,2]|sort|join(',') }}|{{ [1,2]|length }}"),
            "x|AB|Hello World|1,2,3|2");
  EXPECT_EQ(render("{{ x|default('d') }}|{{ ''|default('e', true) }}|{{ [1,1,2]|unique|list }}|{{ [1,2,3]|first }}{{ [1,2,3]|last }}"),
            "d|e|[1, 2]|13");
  EXPECT_EQ(render("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(' ') }}",
                   R"({"msgs": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}, {"role": "user", "content": "c"}]})"),
            "a c");
  EXPECT_EQ(render("{{ d|tojson }}|{{ d|tojson(indent=2) }}", R"({"d": {"a": [1, "é\n"]}})"),
            "{\"a\": [1, \"é\\n\"]}|{\n  \"a\": [\n    1,\n    \"é\\n\"\n  ]\n}");
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }}|{{ ' a b '.split() }}|{{ 'xxhixx'.strip('x') }}|{{ 'Hi'.startswith(('x', 'H')) }}"),
            "[\"a\", \"b\", \"\", \"c\"]|[\"a\", \"b\"]|hi|true");
  EXPECT_EQ(render("{{ 'aXbX'.replace('X', '-') }}|{{ 'line1\nline2'|indent(2) }}|{{ 3.7|int }}|{{ '12'|int + 1 }}"),
            "a-b-|line1\n  line2|3|13");
  EXPECT_EQ(render("{{ x is defined }}{{ y is none }}{{ 'a' is string }}{{ 3 is odd }}{{ {} is mapping }}{{ [] is iterable }}{{ 6 is divisibleby 3 }}",
                   R"({"x": 1, "y": null})"),
            "truetruetruetruetruetruetrue");
  EXPECT_EQ(render("{{ d.get('a') }}{{ d.get('z', 'dflt') }}{{ d|dictsort }}", R"({"d": {"b": 2, "a": 1}})"),
            "1dflt[[\"a\", 1], [\"b\", 2]]");
}

// The dispatch rule of filters: a name may have a row for strings and one
// for lists; a name no row takes is tried as a dict's method, and only a
// dict's; anything else is an error naming the filter and the operand.
TEST(ChatTemplate, FiltersDispatchByOperandWithOneFallbackToDictMethods) {
  EXPECT_EQ(render("{{ 'héllo'|first }}|{{ [1, 2]|first }}|{{ 'héllo'|reverse }}|{{ [1, 2]|reverse }}|{{ 'ab'|list }}"),
            "h|1|olléh|[2, 1]|[\"a\", \"b\"]");
  EXPECT_EQ(render("{{ d|keys }}|{{ d|values }}|{{ d|items }}", R"({"d": {"b": 2, "a": 1}})"),
            "[\"b\", \"a\"]|[2, 1]|[[\"b\", 2], [\"a\", 1]]");
  EXPECT_EQ(render("{{ 'ab'|keys }}"), "ERROR: line 1: filter 'keys' cannot be applied to a string");
  EXPECT_EQ(render("{{ [1]|upper }}"), "ERROR: line 1: filter 'upper' cannot be applied to a list");
  EXPECT_EQ(render("{{ d|upper }}", R"({"d": {}})"), "ERROR: line 1: filter 'upper' cannot be applied to a dict");
  EXPECT_EQ(render("{{ d|nosuch }}", R"({"d": {}})"), "ERROR: line 1: filter 'nosuch' cannot be applied to a dict");
  EXPECT_EQ(render("{% set ns = namespace(a=1) %}{{ ns|keys }}"),
            "ERROR: line 1: filter 'keys' cannot be applied to a namespace");
  EXPECT_EQ(render("{{ 3 is lt 4 }}{{ 3 is ge 4 }}{{ 'a' is in 'cat' }}{{ [1, 2, 3]|select('>=', 2)|list }}"), "truefalsetrue[2, 3]");
  EXPECT_EQ(render("{{ 3 is nosuch }}"), "ERROR: line 1: unknown test 'nosuch'");
}

// A row that repeats another's key would never be reached.
TEST(ChatTemplate, BuiltinTablesHaveOneRowPerKey) {
  std::set<std::pair<std::string, jinja::Operand>> filters;
  for (const auto* table : {&jinja::value_filters(), &jinja::string_filters(), &jinja::list_filters(), &jinja::dict_filters()}) {
    for (const jinja::FilterRow& row : *table) {
      EXPECT_TRUE(filters.insert({row.name, row.operand}).second) << "filter " << row.name;
      // A kAny row takes every operand, so no other row of its name is reached.
      if (row.operand == jinja::Operand::kAny) {
        EXPECT_EQ(filters.count({row.name, jinja::Operand::kString}) + filters.count({row.name, jinja::Operand::kArray}), 0u)
            << row.name;
      }
    }
  }
  for (const auto* table : {&jinja::string_methods(), &jinja::list_methods(), &jinja::dict_methods()}) {
    std::set<std::string> names;
    for (const jinja::MethodRow& row : *table) EXPECT_TRUE(names.insert(row.name).second) << "method " << row.name;
  }
  std::set<std::string> tests;
  for (const jinja::TestRow& row : jinja::test_table()) EXPECT_TRUE(tests.insert(row.name).second) << "test " << row.name;
}

TEST(ChatTemplate, RaiseExceptionReportsTheTemplatesOwnText) {
  auto t = ChatTemplate::parse("{{ raise_exception('Only user and assistant roles are supported!') }}");
  ASSERT_TRUE(t.is_ok());
  auto r = t->render("{}");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "Only user and assistant roles are supported!");
}

TEST(ChatTemplate, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(render("line one\n{% if x %}\nunclosed"), "PARSE ERROR: line 3: unclosed 'if' block: the template ended before its end tag");
  EXPECT_NE(render("{{ 1 + }}").find("PARSE ERROR: line 1: unexpected"), std::string::npos);
  EXPECT_NE(render("{% frobnicate %}").find("unknown statement 'frobnicate'"), std::string::npos);
  EXPECT_NE(render("{{ 'unterminated }}").find("unterminated string literal"), std::string::npos);
  EXPECT_NE(render("{# no end").find("missing end of comment"), std::string::npos);
  EXPECT_NE(render("a\n{{ x|nosuchfilter }}", R"({"x": "s"})").find("ERROR: line 2: filter 'nosuchfilter' cannot be applied"),
            std::string::npos);
  EXPECT_NE(render("{{ x is nosuchtest }}").find("unknown test 'nosuchtest'"), std::string::npos);
  EXPECT_NE(render("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
}

TEST(ChatTemplate, ContextMustBeAJsonObject) {
  auto t = ChatTemplate::parse("{{ x }}");
  ASSERT_TRUE(t.is_ok());
  EXPECT_FALSE(t->render("[1]").is_ok());
  EXPECT_FALSE(t->render("{\"x\":").is_ok());
  EXPECT_EQ(*t->render("{\"x\": \"ok\"}"), "ok");
}

TEST(ChatTemplateHostile, DeepNestingIsRefusedWhileParsing) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "{% if true %}";
  EXPECT_NE(render(deep).find("nests deeper than the limit"), std::string::npos);
  EXPECT_NE(render("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}").find("nests deeper"),
            std::string::npos);
  EXPECT_NE(render("{{ " + std::string(100000, '-') + "1 }}").find("nests deeper"), std::string::npos);
  EXPECT_NE(render("{{ " + std::string(100000, '[') + " }}").find("ERROR"), std::string::npos);
}

TEST(ChatTemplateHostile, EndlessRecursionAndLoopsStopAtTheirLimits) {
  const auto start = std::chrono::steady_clock::now();
  // Default limits.
  EXPECT_NE(render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("calls nest deeper than the limit"),
            std::string::npos);
  EXPECT_NE(render("{% for i in range(1000000000) %}x{% endfor %}").find("longer than the limit"), std::string::npos);
  EXPECT_NE(render("{{ 'x' * 100000000000 }}").find("more than the limit"), std::string::npos);
  // A list that contains itself cannot be printed forever.
  EXPECT_NE(render("{% set a = [1] %}{% set _ = a.append(a) %}{{ a }}").find("ERROR"), std::string::npos);
  // Smaller limits keep the long-running cases quick (also under sanitizers);
  // the mechanism is the same at the defaults.
  TemplateLimits small;
  small.max_steps = 100'000;
  small.max_output_bytes = 1 << 20;
  EXPECT_NE(render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "{}", small)
                .find("more than the limit of 100000 steps"),
            std::string::npos);
  // Doubling a string: the output limit stops it long before memory runs out.
  EXPECT_NE(render("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
                   "{}", small)
                .find("more than the limit 1048576"),
            std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60.0);
}

TEST(ChatTemplateHostile, AContextWithManyKeysStaysFast) {
  std::string context = "{";
  for (int i = 0; i < 100000; ++i) context += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  context += "\"d\": {";
  for (int i = 0; i < 100000; ++i) context += (i ? ",\"" : "\"") + std::to_string(i) + "\": " + std::to_string(i);
  context += ", \"5\": \"dup\"}}";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(render("{{ k99999 }} {{ d['99999'] }} {{ d['5'] }} {{ d|length }}", context), "99999 99999 dup 100000");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
}

TEST(ChatTemplateHostile, TemplatesOverTheSizeLimitAreRefused) {
  TemplateLimits limits;
  limits.max_template_bytes = 10;
  EXPECT_NE(render("{{ 'abcdefgh' }}", "{}", limits).find("more than the limit 10"), std::string::npos);
  EXPECT_NE(render(std::string("{{ '\xff' }}")).find("not valid UTF-8"), std::string::npos);
}


std::string repeat(const std::string& s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Chains build trees as deep as they are long while the parser only loops;
// the interpreter used to overflow the stack evaluating them.
TEST(ChatTemplateHostile, LongChainsNestAndStopAtTheParserLimit) {
  const std::string links[] = {" + 1", " ~ 1", " * 1", " ** 1", " < 2", " == 1", " and 1", " or 1", "|string",
                               ".a", "[0]", " is defined", " in [1]", "()", " if 1 else 1"};
  for (const std::string& link : links) {
    SCOPED_TRACE(link);
    EXPECT_TRUE(has(render("{{ x" + repeat(link, 10000) + " }}"), "nests deeper than the limit of 128"));
  }
  EXPECT_TRUE(has(render("{{ " + repeat("(", 10000) + "1" + repeat(")", 10000) + " }}"), "nests deeper"));
  // Real chains are short and still render.
  EXPECT_EQ(render("{{ 1" + repeat(" + 1", 100) + " }}"), "101");
  EXPECT_EQ(render("{{ 'A'" + repeat("|lower", 60) + " }}"), "a");
}

TEST(ChatTemplateHostile, EvaluationDepthIsBoundedWhateverTheParserAllows) {
  TemplateLimits deep;
  deep.max_nesting_depth = 1'000'000;  // let the parser build a 20,000-deep tree
  EXPECT_TRUE(has(render("{{ 1" + repeat(" + 1", 20000) + " }}", "{}", deep),
                  "evaluation nests deeper than the limit of 1024"));
  // Recursion through macros counts the frames of every call.
  EXPECT_TRUE(has(render("{% macro f(n) %}{{ f(n + 1)" + repeat(" ~ ''", 100) + " }}{% endmacro %}{{ f(0) }}", "{}",
                         deep),
                  "nests deeper than the limit"));
}

TEST(ChatTemplateHostile, ValuesNestAtMost512Deep) {
  const std::string loop = "{% for i in range(100) %}{% for j in range(20) %}";
  const std::string end = "{% endfor %}{% endfor %}";
  EXPECT_TRUE(has(render("{% set ns = namespace(x=[]) %}" + loop + "{% set ns.x = [ns.x] %}" + end + "{{ ns.x }}"),
                  "value nests deeper than the limit of 512"));
  EXPECT_TRUE(has(render("{% set ns = namespace(x={}) %}" + loop + "{% set ns.x = {'k': ns.x} %}" + end),
                  "value nests deeper than the limit of 512"));
  EXPECT_TRUE(has(render("{% set ns = namespace(x=[]) %}" + loop +
                         "{% set outer = [] %}{% set _ = outer.append(ns.x) %}{% set ns.x = outer %}" + end),
                  "value nests deeper than the limit of 512"));
  // 500 levels are fine and print as JSON.
  const std::string ok = render("{% set ns = namespace(x=[]) %}{% for i in range(500) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}");
  EXPECT_EQ(ok, repeat("[", 501) + repeat("]", 501));
}

TEST(ChatTemplateHostile, ADeepValueIsDestroyedWithoutRecursion) {
  // Built directly (the interpreter refuses to build it): a million levels
  // would overflow the stack if freeing recursed.
  jinja::Value v = jinja::Value::from_array({});
  for (int i = 0; i < 1'000'000; ++i) {
    jinja::Array wrap;
    wrap.push_back(std::move(v));
    v = jinja::Value::from_array(std::move(wrap));
  }
  jinja::Value dict = jinja::Value::new_object();
  for (int i = 0; i < 1'000'000; ++i) {
    jinja::Value outer = jinja::Value::new_object();
    outer.object->set("k", std::move(dict));
    dict = std::move(outer);
  }
  v = jinja::Value();
  dict = jinja::Value();
  SUCCEED();
}

TEST(ChatTemplateHostile, RangeNearTheIntegerLimitsIsExact) {
  EXPECT_EQ(render("{% for i in range(9223372036854775806, 9223372036854775807, 10) %}{{ i }}{% endfor %}"),
            "9223372036854775806");
  EXPECT_EQ(render("{{ range(-9223372036854775807, 9223372036854775807, 9223372036854775807)|list }}"),
            "[-9223372036854775807, 0]");
  EXPECT_EQ(render("{{ range(9223372036854775807, -9223372036854775807, -9223372036854775807)|list }}"),
            "[9223372036854775807, 0]");
  EXPECT_TRUE(has(render("{{ range(-9223372036854775807, 9223372036854775807)|length }}"), "longer than the limit"));
  EXPECT_EQ(render("{{ 'héllo'[::9223372036854775807] }}|{{ 'héllo'[-1::-9223372036854775807] }}|{{ [1,2,3][::-2] }}"),
            "h|o|[3, 1]");
}

TEST(ChatTemplateHostile, BigStringsAndListsStopAtTheRenderBudget) {
  const auto start = std::chrono::steady_clock::now();
  // split and list of a 20 MB string: the list limit, before the list is built.
  EXPECT_TRUE(has(render("{% set s = 'a ' * 10000000 %}{{ s.split(' ')|length }}"), "more than the limit of 131072"));
  EXPECT_TRUE(has(render("{% set s = 'a ' * 10000000 %}{{ s.split()|length }}"), "more than the limit of 131072"));
  EXPECT_TRUE(has(render("{% set s = 'a' * 20000000 %}{{ s|list|length }}"), "longer than the limit 131072"));
  EXPECT_TRUE(has(render("{% set s = 'a' * 20000000 %}{% for c in s %}{% endfor %}"), "longer than the limit 131072"));
  // Appending a 60 MB string again and again, and growing a string in a loop.
  const std::string budget = "more than the limit of 268435456 bytes (max_render_bytes)";
  EXPECT_TRUE(has(render("{% set s = 'a' * 60000000 %}{% set l = [] %}{% for i in range(100) %}"
                         "{% set _ = l.append(s) %}{% endfor %}{{ l|length }}"),
                  budget));
  EXPECT_TRUE(has(render("{% set ns = namespace(s='') %}{% for i in range(100000) %}"
                         "{% set ns.s = ns.s + 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' %}{% endfor %}"),
                  budget));
  EXPECT_TRUE(has(render("{% set ns = namespace(s='') %}{% for i in range(100000) %}"
                         "{% set ns.s = ns.s ~ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' %}{% endfor %}"),
                  budget));
  TemplateLimits small;
  small.max_render_bytes = 1 << 20;
  EXPECT_TRUE(has(render("{% set l = [] %}{% for i in range(100000) %}{% set _ = l.append(i) %}{% endfor %}", "{}", small),
                  "more than the limit of 1048576 bytes"));
  EXPECT_TRUE(has(render("{% set s = 'x' * 2000000 %}", "{}", small), "more than the limit of 1048576 bytes"));
  // Searching 20 MB strings: linear searches whose bytes count as work.
  const std::string search = "{% set s = 'a' * 20000000 %}{% set t = 'a' * 10000 + 'b' %}{% for i in range(1000) %}";
  for (const std::string op : {"{{ t in s }}", "{{ s.count(t) }}", "{{ s.find(t) }}", "{{ s.replace(t, '') }}",
                               "{{ s == s ~ '' }}"}) {
    SCOPED_TRACE(op);
    EXPECT_TRUE(has(render(search + op + "{% endfor %}"), "limit"));
  }
  EXPECT_EQ(render("{% set s = 'a' * 1000 + 'b' %}{{ 'ab' in s }}{{ s.count('a') }}{{ s.find('b') }}{{ s.replace('a', '')}}"),
            "true10001000b");
  // Quadratic unique over a long list counts its comparisons.
  TemplateLimits work;
  work.max_steps = 1'000'000;
  EXPECT_TRUE(has(render("{{ range(100000)|unique|length }}", "{}", work), "steps"));
  // Sorting long strings: each comparison reads them.
  work.max_steps = 200'000;
  EXPECT_TRUE(has(render("{% set l = [] %}{% for i in range(1000) %}{% set _ = l.append(('x' * 10000) ~ (i * 7919 % 1000)) %}"
                         "{% endfor %}{{ (l|sort)[0]|length }}",
                         "{}", work),
                  "more than the limit of 200000 steps"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 120.0);
}

}  // namespace
}  // namespace mlxpack
