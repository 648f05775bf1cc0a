#!/usr/bin/env python3
"""Writes the case corpus under tests/compat/ (previous/, current/, buf.yaml).

Each rule gets three cases: `<rule>__break` (the rule fires), `<rule>__ok`
(a near miss that does not break), `<rule>__ignored` (the break silenced by
ignore / ignore_only / except / ignore_unstable_packages). Scenario cases
(`scenario__*`) run realistic changes under whole categories. Run
`tests/record.sh` afterwards to record expected.json with buf.

Usage: gen_cases.py [--clean]   (--clean also removes case dirs no longer defined)
"""
import json
import os
import shutil
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "compat")


def p3(body, pkg="foo.v1", extra=""):
    return f'syntax = "proto3";\n\npackage {pkg};\n{extra}\n{body}'


def p2(body, pkg="foo.v1", extra=""):
    return f'syntax = "proto2";\n\npackage {pkg};\n{extra}\n{body}'


def ed(body, pkg="foo.v1", extra=""):
    return f'edition = "2023";\n\npackage {pkg};\n{extra}\n{body}'


def yaml_list(items):
    return "[" + ", ".join(items) + "]"


def buf_yaml(use=None, except_=None, ignore=None, ignore_only=None, unstable=False):
    lines = ["version: v2", "breaking:"]
    lines.append(f"  use: {yaml_list(use or ['FILE'])}")
    if except_:
        lines.append(f"  except: {yaml_list(except_)}")
    if ignore:
        lines.append(f"  ignore: {yaml_list(ignore)}")
    if ignore_only:
        lines.append("  ignore_only:")
        for key, paths in ignore_only.items():
            lines.append(f"    {key}: {yaml_list(paths)}")
    if unstable:
        lines.append("  ignore_unstable_packages: true")
    return "\n".join(lines) + "\n"


CASES = {}


def case(name, previous, current, **config):
    assert name not in CASES, name
    CASES[name] = (previous, current, buf_yaml(**config))


def rule(rule_id, brk, ok, silence="only", category=None):
    """brk/ok: (previous files, current files). silence picks how __ignored silences."""
    prev, cur = brk
    case(f"{rule_id.lower()}__break", prev, cur, use=[rule_id])
    case(f"{rule_id.lower()}__ok", ok[0], ok[1], use=[rule_id])
    broken_files = sorted(set(prev) | set(cur))
    if silence == "only":
        case(f"{rule_id.lower()}__ignored", prev, cur, use=[rule_id], ignore_only={rule_id: broken_files})
    elif silence == "ignore":
        case(f"{rule_id.lower()}__ignored", prev, cur, use=[rule_id], ignore=broken_files)
    elif silence == "except":
        case(f"{rule_id.lower()}__ignored", prev, cur, use=[category], except_=[rule_id])
    elif silence == "category":
        case(f"{rule_id.lower()}__ignored", prev, cur, use=[rule_id], ignore_only={category: broken_files})
    elif silence == "unstable":
        case(f"{rule_id.lower()}__ignored", prev, cur, use=[rule_id], unstable=True)
    else:
        raise ValueError(silence)


A = "a.proto"

# ---------------------------------------------------------------- FILE rules
rule("ENUM_NO_DELETE",
     ({A: p3("enum Color {\n  COLOR_UNSPECIFIED = 0;\n}\n\nmessage M {\n  enum Inner {\n    INNER_UNSPECIFIED = 0;\n  }\n  int32 x = 1;\n}\n")},
      {A: p3("message M {\n  int32 x = 1;\n}\n")}),
     ({A: p3("enum Color {\n  COLOR_UNSPECIFIED = 0;\n}\n")},
      {A: p3("enum Color {\n  COLOR_UNSPECIFIED = 0;\n  COLOR_RED = 1;\n}\n\nenum Shape {\n  SHAPE_UNSPECIFIED = 0;\n}\n")}),
     silence="ignore")

EXT_PREV = p2("message Base {\n  extensions 100 to 200;\n}\n\nextend Base {\n  optional int32 top_ext = 100;\n}\n\nmessage Holder {\n  extend Base {\n    optional string nested_ext = 101;\n  }\n}\n")
rule("EXTENSION_NO_DELETE",
     ({A: EXT_PREV}, {A: p2("message Base {\n  extensions 100 to 200;\n}\n\nmessage Holder {\n}\n")}),
     ({A: EXT_PREV}, {A: EXT_PREV.replace("optional int32 top_ext = 100;", "optional int32 top_ext = 100;\n  optional int64 more_ext = 102;")}))

rule("FILE_NO_DELETE",
     ({A: p3("message A {}\n"), "sub/b.proto": p3("message B {}\n", pkg="foo.sub.v1")},
      {A: p3("message A {}\n")}),
     ({A: p3("message A {}\n"), "sub/b.proto": p3("message B {}\n", pkg="foo.sub.v1")},
      {A: p3("message A {\n  int32 x = 1;\n}\n"), "sub/b.proto": p3("message B {}\n", pkg="foo.sub.v1")}),
     silence="ignore")

rule("MESSAGE_NO_DELETE",
     ({A: p3("message Outer {\n  message Inner {\n    message Deep {}\n  }\n  message Gone {}\n}\n\nmessage Top {}\n")},
      {A: p3("message Outer {\n  message Inner {}\n}\n")}),
     ({A: p3("message Outer {\n  message Inner {}\n}\n")},
      {A: p3("message Outer {\n  message Inner {}\n  message Added {}\n}\n")}))

rule("SERVICE_NO_DELETE",
     ({A: p3("message R {}\n\nservice Keep {\n  rpc Get(R) returns (R);\n}\n\nservice Gone {\n  rpc Get(R) returns (R);\n}\n")},
      {A: p3("message R {}\n\nservice Keep {\n  rpc Get(R) returns (R);\n}\n")}),
     ({A: p3("message R {}\n\nservice Keep {\n  rpc Get(R) returns (R);\n}\n")},
      {A: p3("message R {}\n\nservice Keep {\n  rpc Get(R) returns (R);\n  rpc List(R) returns (R);\n}\n")}),
     silence="unstable")
# the "unstable" silence needs an unstable package: rewrite that case's package
prev, cur, _ = CASES["service_no_delete__ignored"]
CASES["service_no_delete__ignored"] = (
    {k: v.replace("foo.v1", "foo.v1beta1") for k, v in prev.items()},
    {k: v.replace("foo.v1", "foo.v1beta1") for k, v in cur.items()},
    buf_yaml(use=["SERVICE_NO_DELETE"], unstable=True))

# ---------------------------------------------------------------- FILE + PACKAGE
rule("ENUM_SAME_TYPE",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n}\n")}, {A: p2("enum E {\n  E_UNSPECIFIED = 0;\n}\n")}),
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n}\n")}, {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n")}),
     silence="category", category="PACKAGE")

rule("ENUM_VALUE_NO_DELETE",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n  E_TWO = 2;\n}\n\nmessage M {\n  enum Nested {\n    NESTED_UNSPECIFIED = 0;\n    NESTED_ONE = 1;\n  }\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_TWO = 2;\n}\n\nmessage M {\n  enum Nested {\n    NESTED_UNSPECIFIED = 0;\n  }\n}\n")}),
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_UNO = 1;\n}\n")}),
     silence="except", category="FILE")

rule("EXTENSION_MESSAGE_NO_DELETE",
     ({A: p2("message M {\n  extensions 100 to 200;\n  extensions 1000 to max;\n  extensions 300;\n}\n")},
      {A: p2("message M {\n  extensions 100 to 120, 150 to 160;\n}\n")}),
     ({A: p2("message M {\n  extensions 100 to 200;\n}\n")},
      {A: p2("message M {\n  extensions 100 to 150, 151 to 200, 300;\n}\n")}))

rule("FIELD_NO_DELETE",
     ({A: p3("message M {\n  int32 a = 1;\n  string b = 2;\n  message N {\n    bool c = 1;\n  }\n  map<string, int32> d = 4;\n}\n")},
      {A: p3("message M {\n  int32 a = 1;\n  message N {}\n}\n")}),
     ({A: p3("message M {\n  int32 a = 1;\n}\n")},
      {A: p3("message M {\n  int32 renamed = 1;\n  int32 added = 2;\n}\n")}))

rule("FIELD_SAME_CARDINALITY",
     ({A: p3("message M {\n  int32 a = 1;\n  repeated int32 b = 2;\n  optional int32 c = 3;\n  map<string, string> d = 4;\n}\n")},
      {A: p3("message M {\n  optional int32 a = 1;\n  int32 b = 2;\n  int32 c = 3;\n  repeated string d = 4;\n}\n")}),
     ({A: p3("message N {}\n\nmessage M {\n  N a = 1;\n  int32 b = 2;\n}\n")},
      {A: p3("message N {}\n\nmessage M {\n  optional N a = 1;\n  int64 b = 2;\n}\n")}))

rule("FIELD_SAME_CPP_STRING_TYPE",
     ({A: p2("message M {\n  optional string a = 1;\n  optional bytes b = 2 [ctype = CORD];\n  optional string c = 3 [ctype = STRING];\n}\n")},
      {A: p2("message M {\n  optional string a = 1 [ctype = CORD];\n  optional bytes b = 2;\n  optional string c = 3 [ctype = STRING_PIECE];\n}\n")}),
     ({A: p2("message M {\n  optional string a = 1 [ctype = STRING_PIECE];\n  optional string b = 2;\n  optional int32 c = 3;\n}\n")},
      {A: p2("message M {\n  optional string a = 1;\n  optional string b = 2 [ctype = STRING];\n  optional int32 c = 3;\n}\n")}))

rule("FIELD_SAME_JAVA_UTF8_VALIDATION",
     ({A: p2("message M {\n  optional string a = 1;\n  optional bytes b = 2;\n}\n")},
      {A: p2("message M {\n  optional string a = 1;\n  optional bytes b = 2;\n}\n", extra='option java_string_check_utf8 = true;\n')}),
     ({A: p3("message M {\n  string a = 1;\n}\n")},
      {A: p3("message M {\n  string a = 1;\n}\n", extra='option java_string_check_utf8 = true;\n')}))

rule("FIELD_SAME_JSTYPE",
     ({A: p3("message M {\n  int64 a = 1;\n  uint64 b = 2 [jstype = JS_NUMBER];\n}\n")},
      {A: p3("message M {\n  int64 a = 1 [jstype = JS_STRING];\n  uint64 b = 2;\n}\n")}),
     ({A: p3("message M {\n  int64 a = 1;\n  int64 b = 2 [jstype = JS_STRING];\n}\n")},
      {A: p3("message M {\n  int64 a = 1 [jstype = JS_NORMAL];\n  sint64 b = 2 [jstype = JS_STRING];\n}\n")}),
     silence="ignore")

rule("FIELD_SAME_TYPE",
     ({A: p3("message N {}\nmessage O {}\nenum E {\n  E_UNSPECIFIED = 0;\n}\n\nmessage M {\n  int32 a = 1;\n  N b = 2;\n  E c = 3;\n  string d = 4;\n  repeated N e = 5;\n}\n")},
      {A: p3("message N {}\nmessage O {}\nenum E {\n  E_UNSPECIFIED = 0;\n}\n\nmessage M {\n  int64 a = 1;\n  O b = 2;\n  N c = 3;\n  bytes d = 4;\n  repeated O e = 5;\n}\n")}),
     ({A: p3("message N {}\n\nmessage M {\n  int32 a = 1;\n  N b = 2;\n}\n")},
      {A: p3("message N {}\n\nmessage M {\n  int32 a2 = 1;\n  N b2 = 2;\n}\n")}))

rule("FIELD_SAME_UTF8_VALIDATION",
     ({A: p3("message M {\n  string a = 1;\n  repeated string b = 2;\n}\n")},
      {A: p2("message M {\n  optional string a = 1;\n  repeated string b = 2;\n}\n")}),
     ({A: p2("message M {\n  optional string a = 1;\n}\n")},
      {A: p2("message M {\n  optional bytes a = 1;\n}\n")}))

FILE_OPTIONS = [
    ("FILE_SAME_CC_ENABLE_ARENAS", "cc_enable_arenas", "false", "true"),
    ("FILE_SAME_CC_GENERIC_SERVICES", "cc_generic_services", "true", "false"),
    ("FILE_SAME_CSHARP_NAMESPACE", "csharp_namespace", '"Foo.V1"', '"Foo.V2"'),
    ("FILE_SAME_GO_PACKAGE", "go_package", '"example.com/foo/v1;foov1"', '"example.com/foo/v2;foov1"'),
    ("FILE_SAME_JAVA_GENERIC_SERVICES", "java_generic_services", "true", "false"),
    ("FILE_SAME_JAVA_MULTIPLE_FILES", "java_multiple_files", "true", "false"),
    ("FILE_SAME_JAVA_OUTER_CLASSNAME", "java_outer_classname", '"FooProto"', '"BarProto"'),
    ("FILE_SAME_JAVA_PACKAGE", "java_package", '"com.example.foo.v1"', '"com.example.bar.v1"'),
    ("FILE_SAME_OBJC_CLASS_PREFIX", "objc_class_prefix", '"FXX"', '"FYY"'),
    ("FILE_SAME_OPTIMIZE_FOR", "optimize_for", "CODE_SIZE", "LITE_RUNTIME"),
    ("FILE_SAME_PHP_CLASS_PREFIX", "php_class_prefix", '"Foo"', '"Bar"'),
    ("FILE_SAME_PHP_METADATA_NAMESPACE", "php_metadata_namespace", '"Foo\\\\Meta"', '"Bar\\\\Meta"'),
    ("FILE_SAME_PHP_NAMESPACE", "php_namespace", '"Foo\\\\V1"', '"Bar\\\\V1"'),
    ("FILE_SAME_PY_GENERIC_SERVICES", "py_generic_services", "true", "false"),
    ("FILE_SAME_RUBY_PACKAGE", "ruby_package", '"Foo::V1"', '"Bar::V1"'),
    ("FILE_SAME_SWIFT_PREFIX", "swift_prefix", '"FOO"', '"BAR"'),
]
for i, (rule_id, option, first, second) in enumerate(FILE_OPTIONS):
    body = "message M {}\n"
    with_first = p3(body, extra=f"option {option} = {first};\n")
    with_second = p3(body, extra=f"option {option} = {second};\n")
    plain = p3(body)
    # a.proto changes the value, b.proto sets it, c.proto removes it
    brk = ({A: with_first, "b.proto": p3(body, pkg="foo.b.v1"), "c.proto": p3(body, pkg="foo.c.v1", extra=f"option {option} = {first};\n")},
           {A: with_second, "b.proto": p3(body, pkg="foo.b.v1", extra=f"option {option} = {first};\n"), "c.proto": p3(body, pkg="foo.c.v1")})
    plain = p3(body, pkg="foo.b.v1")
    ok = ({A: with_first, "b.proto": plain}, {A: with_first.replace("message M {}", "message M {\n  int32 x = 1;\n}"), "b.proto": plain})
    silence = ["only", "ignore", "category"][i % 3]
    rule(rule_id, brk, ok, silence=silence, category="FILE")

rule("FILE_SAME_SYNTAX",
     ({A: p3("message M {}\n"), "b.proto": "package foo.b.v1;\n\nmessage B {}\n"},
      {A: p2("message M {}\n"), "b.proto": 'syntax = "proto3";\n\npackage foo.b.v1;\n\nmessage B {}\n'}),
     ({A: "package foo.v1;\n\nmessage M {}\n"}, {A: p2("message M {}\n")}))

rule("MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
     ({A: p3("message M {}\n\nmessage N {\n  option no_standard_descriptor_accessor = false;\n}\n")},
      {A: p3("message M {\n  option no_standard_descriptor_accessor = true;\n}\n\nmessage N {\n  option no_standard_descriptor_accessor = true;\n}\n")}),
     ({A: p3("message M {\n  option no_standard_descriptor_accessor = true;\n}\n")},
      {A: p3("message M {\n  option no_standard_descriptor_accessor = false;\n}\n")}))

rule("ONEOF_NO_DELETE",
     ({A: p3("message M {\n  oneof choice {\n    int32 a = 1;\n    string b = 2;\n  }\n  oneof other {\n    bool c = 3;\n  }\n}\n")},
      {A: p3("message M {\n  int32 a = 1;\n  string b = 2;\n  oneof renamed {\n    bool c = 3;\n  }\n}\n")}),
     ({A: p3("message M {\n  optional int32 a = 1;\n  oneof choice {\n    bool c = 3;\n  }\n}\n")},
      {A: p3("message M {\n  int32 a = 1;\n  oneof choice {\n    bool c = 3;\n    string d = 4;\n  }\n}\n")}))

rule("RPC_NO_DELETE",
     ({A: p3("message R {}\n\nservice S {\n  rpc Get(R) returns (R);\n  rpc List(R) returns (R);\n  rpc Watch(R) returns (stream R);\n}\n")},
      {A: p3("message R {}\n\nservice S {\n  rpc Get(R) returns (R);\n}\n")}),
     ({A: p3("message R {}\n\nservice S {\n  rpc Get(R) returns (R);\n}\n")},
      {A: p3("message R {}\n\nservice S {\n  rpc Get(R) returns (R) {}\n  rpc Put(R) returns (R);\n}\n")}))

# ---------------------------------------------------------------- WIRE_JSON (+FILE, PACKAGE)
rule("ENUM_SAME_JSON_FORMAT",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n}\n\nmessage M {\n  enum F {\n    F_UNSPECIFIED = 0;\n  }\n}\n")},
      {A: p2("enum E {\n  E_UNSPECIFIED = 0;\n}\n\nmessage M {\n  enum F {\n    F_UNSPECIFIED = 0;\n  }\n}\n")}),
     ({A: p2("enum E {\n  E_UNSPECIFIED = 0;\n}\n")}, {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n}\n")}))

rule("ENUM_VALUE_SAME_NAME",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n\nenum A {\n  option allow_alias = true;\n  A_UNSPECIFIED = 0;\n  A_X = 1;\n  A_Y = 1;\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_UNO = 1;\n}\n\nenum A {\n  option allow_alias = true;\n  A_UNSPECIFIED = 0;\n  A_X = 1;\n  A_Z = 1;\n}\n")}),
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n")},
      {A: p3("enum E {\n  option allow_alias = true;\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n  E_UNO = 1;\n}\n")}),
     silence="category", category="WIRE_JSON")

rule("FIELD_SAME_JSON_NAME",
     ({A: p3("message M {\n  int32 foo_bar = 1;\n  int32 baz = 2;\n  int32 qux = 3 [json_name = \"q\"];\n}\n")},
      {A: p3("message M {\n  int32 foo_baz = 1;\n  int32 baz = 2 [json_name = \"bazz\"];\n  int32 qux = 3;\n}\n")}),
     ({A: p3("message M {\n  int32 foo_bar = 1;\n}\n")},
      {A: p3("message M {\n  int32 foo_bar = 1 [json_name = \"fooBar\"];\n}\n")}))

rule("FIELD_SAME_NAME",
     ({A: p2("message M {\n  optional int32 a = 1;\n  extensions 100 to 200;\n}\n\nextend M {\n  optional int32 ext_a = 100;\n}\n")},
      {A: p2("message M {\n  optional int32 b = 1;\n  extensions 100 to 200;\n}\n\nextend M {\n  optional int32 ext_b = 100;\n}\n")}),
     ({A: p2("message M {\n  optional int32 a = 1;\n}\n")},
      {A: p2("message M {\n  optional int64 a = 1;\n}\n")}),
     silence="except", category="WIRE_JSON")

rule("MESSAGE_SAME_JSON_FORMAT",
     ({A: p3("message M {\n  message N {}\n}\n")}, {A: p2("message M {\n  message N {}\n}\n")}),
     ({A: p2("message M {}\n")}, {A: p3("message M {}\n")}))

# ---------------------------------------------------------------- WIRE (+ all)
rule("FIELD_SAME_DEFAULT",
     ({A: p2("enum E {\n  E_A = 1;\n  E_B = 2;\n}\n\nmessage M {\n  optional int32 a = 1 [default = 1];\n  optional string b = 2 [default = \"x\"];\n  optional double c = 3 [default = 1.5];\n  optional bytes d = 4 [default = \"ab\"];\n  optional E e = 5;\n  optional bool f = 6 [default = true];\n  optional float g = 7;\n  optional uint64 h = 8 [default = 10];\n}\n")},
      {A: p2("enum E {\n  E_A = 1;\n  E_B = 2;\n}\n\nmessage M {\n  optional int32 a = 1 [default = 2];\n  optional string b = 2 [default = \"y\\n\"];\n  optional double c = 3 [default = 1000000];\n  optional bytes d = 4;\n  optional E e = 5 [default = E_B];\n  optional bool f = 6;\n  optional float g = 7 [default = 0.25];\n  optional uint64 h = 8 [default = 10];\n}\n")}),
     ({A: p2("message M {\n  optional int32 a = 1;\n  optional int64 b = 2 [default = 5];\n  optional float c = 3 [default = 0.1];\n}\n")},
      {A: p2("message M {\n  optional int32 a = 1 [default = 0];\n  optional int32 b = 2 [default = 5];\n  optional double c = 3 [default = 0.1];\n}\n")}),
     silence="category", category="WIRE")

rule("FIELD_SAME_ONEOF",
     ({A: p3("message M {\n  int32 a = 1;\n  oneof x {\n    int32 b = 2;\n    int32 c = 3;\n  }\n  oneof y {\n    int32 d = 4;\n  }\n}\n")},
      {A: p3("message M {\n  oneof x {\n    int32 a = 1;\n    int32 c = 3;\n  }\n  int32 b = 2;\n  oneof z {\n    int32 d = 4;\n  }\n}\n")}),
     ({A: p3("message M {\n  int32 a = 1;\n  oneof x {\n    int32 b = 2;\n  }\n}\n")},
      {A: p3("message M {\n  optional int32 a = 1;\n  oneof x {\n    int32 b = 2;\n    int32 c = 3;\n  }\n}\n")}))

rule("FILE_SAME_PACKAGE",
     ({A: p3("message M {}\n"), "b.proto": "syntax = \"proto3\";\n\nmessage B {}\n"},
      {A: p3("message M {}\n", pkg="foo.v2"), "b.proto": p3("message B {}\n", pkg="foo.b.v1")}),
     ({A: p3("message M {}\n")}, {A: p3("message M {}\n\nmessage N {}\n")}),
     silence="ignore")

rule("MESSAGE_SAME_REQUIRED_FIELDS",
     ({A: p2("message M {\n  required int32 a = 1;\n  optional int32 b = 2;\n  required int32 c = 3;\n}\n")},
      {A: p2("message M {\n  optional int32 a = 1;\n  required int32 b = 2;\n  required int32 c = 3;\n  required string d = 4;\n}\n")}),
     ({A: p2("message M {\n  required int32 a = 1;\n}\n")},
      {A: p2("message M {\n  required int32 renamed = 1;\n  optional int32 b = 2;\n}\n")}))

rule("RESERVED_ENUM_NO_DELETE",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved 2, 5 to 10, 100 to max;\n  reserved \"OLD\", \"GONE\";\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved 5 to 6, 9;\n  reserved \"OLD\";\n}\n")}),
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved 2, 3, 5 to 10;\n  reserved \"OLD\";\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved 2 to 10, 20;\n  reserved \"OLD\", \"NEW\";\n}\n")}))

rule("RESERVED_MESSAGE_NO_DELETE",
     ({A: p3("message M {\n  reserved 2, 5 to 10, 1000 to max;\n  reserved \"old\", \"gone\";\n}\n")},
      {A: p3("message M {\n  reserved 5 to 6, 8;\n  reserved \"old\";\n}\n")}),
     ({A: p3("message M {\n  reserved 2, 3 to 4;\n  reserved \"old\";\n}\n")},
      {A: p3("message M {\n  reserved 2 to 4, 7;\n  reserved \"old\", \"new\";\n}\n")}),
     silence="ignore")

SVC = "message Req {}\nmessage Res {}\nmessage Other {}\n\nservice S {\n%s\n}\n"
rule("RPC_SAME_CLIENT_STREAMING",
     ({A: p3(SVC % "  rpc A(Req) returns (Res);\n  rpc B(stream Req) returns (Res);")},
      {A: p3(SVC % "  rpc A(stream Req) returns (Res);\n  rpc B(Req) returns (Res);")}),
     ({A: p3(SVC % "  rpc A(Req) returns (Res);")}, {A: p3(SVC % "  rpc A(Req) returns (stream Res);")}))
rule("RPC_SAME_SERVER_STREAMING",
     ({A: p3(SVC % "  rpc A(Req) returns (Res);\n  rpc B(Req) returns (stream Res);")},
      {A: p3(SVC % "  rpc A(Req) returns (stream Res);\n  rpc B(Req) returns (Res);")}),
     ({A: p3(SVC % "  rpc A(Req) returns (Res);")}, {A: p3(SVC % "  rpc A(stream Req) returns (Res);")}),
     silence="category", category="WIRE")
rule("RPC_SAME_IDEMPOTENCY_LEVEL",
     ({A: p3(SVC % "  rpc A(Req) returns (Res);\n  rpc B(Req) returns (Res) {\n    option idempotency_level = IDEMPOTENT;\n  }\n  rpc C(Req) returns (Res) {\n    option idempotency_level = IDEMPOTENT;\n  }")},
      {A: p3(SVC % "  rpc A(Req) returns (Res) {\n    option idempotency_level = NO_SIDE_EFFECTS;\n  }\n  rpc B(Req) returns (Res);\n  rpc C(Req) returns (Res) {\n    option idempotency_level = NO_SIDE_EFFECTS;\n  }")}),
     ({A: p3(SVC % "  rpc A(Req) returns (Res);")},
      {A: p3(SVC % "  rpc A(Req) returns (Res) {\n    option idempotency_level = IDEMPOTENCY_UNKNOWN;\n  }")}))
rule("RPC_SAME_REQUEST_TYPE",
     ({A: p3(SVC % "  rpc A(Req) returns (Res);")}, {A: p3(SVC % "  rpc A(Other) returns (Res);")}),
     ({A: p3(SVC % "  rpc A(Req) returns (Res);")}, {A: p3(SVC % "  rpc A(Req) returns (Other);")}))
rule("RPC_SAME_RESPONSE_TYPE",
     ({A: p3(SVC % "  rpc A(Req) returns (Res);"), "b.proto": p3("message Res {}\n", pkg="bar.v1")},
      {A: p3(SVC % "  rpc A(Req) returns (bar.v1.Res);", extra='import "b.proto";\n'), "b.proto": p3("message Res {}\n", pkg="bar.v1")}),
     ({A: p3(SVC % "  rpc A(Req) returns (Res);")}, {A: p3(SVC % "  rpc A(foo.v1.Req) returns (.foo.v1.Res);")}),
     silence="ignore")

# ---------------------------------------------------------------- PACKAGE
PKG_PREV = {
    A: p2("message Moved {}\nmessage Deleted {\n  message Nested {}\n}\nenum MovedEnum {\n  MOVED_ENUM_UNSPECIFIED = 0;\n}\nenum DeletedEnum {\n  DELETED_ENUM_UNSPECIFIED = 0;\n}\nmessage Base {\n  extensions 100 to 200;\n}\nextend Base {\n  optional int32 moved_ext = 100;\n  optional int32 deleted_ext = 101;\n}\nservice MovedService {}\nservice DeletedService {}\n"),
    "gone.proto": p2("message InGone {}\nenum GoneEnum {\n  GONE_ENUM_UNSPECIFIED = 0;\n}\nextend Base {\n  optional int32 gone_ext = 102;\n}\nservice GoneService {}\n", extra='import "a.proto";\n'),
    "other/x.proto": p2("message X {}\n", pkg="other.v1"),
}
PKG_CUR = {
    A: p2("message Deleted {}\nmessage Base {\n  extensions 100 to 200;\n}\n"),
    "b.proto": p2("message Moved {}\nenum MovedEnum {\n  MOVED_ENUM_UNSPECIFIED = 0;\n}\nextend Base {\n  optional int32 moved_ext = 100;\n}\nservice MovedService {}\n", extra='import "a.proto";\n'),
}
PKG_OK_PREV = {A: p2("message Moved {}\nenum MovedEnum {\n  MOVED_ENUM_UNSPECIFIED = 0;\n}\nmessage Base {\n  extensions 100 to 200;\n}\nextend Base {\n  optional int32 moved_ext = 100;\n}\nservice MovedService {}\n")}
PKG_OK_CUR = {A: p2("message Base {\n  extensions 100 to 200;\n}\n"), "b.proto": PKG_CUR["b.proto"]}
for rule_id, silence in [("PACKAGE_ENUM_NO_DELETE", "only"), ("PACKAGE_EXTENSION_NO_DELETE", "ignore"),
                         ("PACKAGE_MESSAGE_NO_DELETE", "category"), ("PACKAGE_NO_DELETE", "ignore"),
                         ("PACKAGE_SERVICE_NO_DELETE", "only")]:
    rule(rule_id, (PKG_PREV, PKG_CUR), (PKG_OK_PREV, PKG_OK_CUR), silence=silence, category="PACKAGE")

# ---------------------------------------------------------------- WIRE_JSON / WIRE only
rule("ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n  E_TWO = 2;\n}\n\nenum A {\n  option allow_alias = true;\n  A_UNSPECIFIED = 0;\n  A_X = 1;\n  A_Y = 1;\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved 1, 2;\n}\n\nenum A {\n  A_UNSPECIFIED = 0;\n  reserved \"A_X\";\n}\n")}),
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved \"E_ONE\";\n}\n")}))
rule("ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n  E_TWO = 2;\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved \"E_ONE\", \"E_TWO\";\n}\n")}),
     ({A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n  E_TWO = 2;\n}\n")},
      {A: p3("enum E {\n  E_UNSPECIFIED = 0;\n  reserved 1 to 2;\n}\n")}),
     silence="category", category="WIRE")
rule("FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
     ({A: p3("message M {\n  int32 a = 1;\n  int32 b = 2;\n}\n")},
      {A: p3("message M {\n  reserved 1, 2;\n}\n")}),
     ({A: p3("message M {\n  int32 a = 1;\n}\n")},
      {A: p3("message M {\n  reserved \"a\";\n}\n")}))
rule("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
     ({A: p3("message M {\n  int32 a = 1;\n  int32 b = 2;\n}\n")},
      {A: p3("message M {\n  reserved \"a\";\n  int32 c = 3;\n}\n")}),
     ({A: p3("message M {\n  int32 a = 1;\n}\n")},
      {A: p3("message M {\n  reserved 1;\n}\n")}),
     silence="except", category="WIRE")
rule("FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
     ({A: p3("message M {\n  int32 a = 1;\n  map<string, int32> b = 2;\n}\n")},
      {A: p3("message M {\n  repeated int32 a = 1;\n  repeated BEntry b = 2;\n  message BEntry {\n    string key = 1;\n    int32 value = 2;\n  }\n}\n")}),
     ({A: p3("message M {\n  int32 a = 1;\n}\n")}, {A: p3("message M {\n  optional int32 a = 1;\n}\n")}))
rule("FIELD_WIRE_COMPATIBLE_CARDINALITY",
     ({A: p2("message M {\n  optional int32 a = 1;\n  required int32 b = 2;\n}\n")},
      {A: p2("message M {\n  repeated int32 a = 1;\n  optional int32 b = 2;\n}\n")}),
     ({A: p3("message M {\n  map<string, int32> b = 2;\n}\n")},
      {A: p3("message M {\n  repeated BEntry b = 2;\n  message BEntry {\n    string key = 1;\n    int32 value = 2;\n  }\n}\n")}),
     silence="category", category="WIRE")
ENUMS = "enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n"
rule("FIELD_WIRE_JSON_COMPATIBLE_TYPE",
     ({A: p3("message M {\n  int32 a = 1;\n  string b = 2;\n  E c = 3;\n}\n" + ENUMS)},
      {A: p3("message M {\n  int64 a = 1;\n  bytes b = 2;\n  int32 c = 3;\n}\n" + ENUMS)}),
     ({A: p3("message M {\n  int32 a = 1;\n  fixed64 b = 2;\n  E c = 3;\n}\n" + ENUMS)},
      {A: p3("message M {\n  uint32 a = 1;\n  sfixed64 b = 2;\n  E c = 3;\n}\n" + ENUMS)}))
rule("FIELD_WIRE_COMPATIBLE_TYPE",
     ({A: p3("message N {}\nmessage O {}\nmessage M {\n  int32 a = 1;\n  bytes b = 2;\n  N c = 3;\n  E d = 4;\n  float e = 5;\n}\n" + ENUMS),
       "b.proto": p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n", pkg="bar.v1")},
      {A: p3("message N {}\nmessage O {}\nmessage M {\n  sint32 a = 1;\n  string b = 2;\n  O c = 3;\n  bar.v1.E d = 4;\n  double e = 5;\n}\n" + ENUMS, extra='import "b.proto";\n'),
       "b.proto": p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_TWO = 1;\n}\n", pkg="bar.v1")}),
     ({A: p3("message M {\n  int32 a = 1;\n  string b = 2;\n  E d = 4;\n}\n" + ENUMS), "b.proto": p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n", pkg="bar.v1")},
      {A: p3("message M {\n  int64 a = 1;\n  bytes b = 2;\n  bar.v1.E d = 4;\n}\n" + ENUMS, extra='import "b.proto";\n'),
       "b.proto": p3("enum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n  E_TWO = 2;\n}\n", pkg="bar.v1")}),
     silence="only")

# ---------------------------------------------------------------- editions (recorded with buf build)
ED_ENUMS_PREV = ed("enum Open {\n  OPEN_UNSPECIFIED = 0;\n}\n\nenum Closed {\n  option features.enum_type = CLOSED;\n  CLOSED_UNSPECIFIED = 0;\n}\n")
ED_ENUMS_CUR = ed("enum Open {\n  option features.enum_type = CLOSED;\n  OPEN_UNSPECIFIED = 0;\n}\n\nenum Closed {\n  CLOSED_UNSPECIFIED = 0;\n}\n")
case("editions__enum_same_type", {A: ED_ENUMS_PREV}, {A: ED_ENUMS_CUR}, use=["ENUM_SAME_TYPE"])
case("editions__enum_same_type_file_default", {A: ED_ENUMS_PREV}, {A: ed("enum Open {\n  OPEN_UNSPECIFIED = 0;\n}\n\nenum Closed {\n  CLOSED_UNSPECIFIED = 0;\n}\n", extra="option features.enum_type = CLOSED;\n")}, use=["ENUM_SAME_TYPE"])
case("editions__enum_same_type_ok", {A: p3("enum Open {\n  OPEN_UNSPECIFIED = 0;\n}\n")}, {A: ed("enum Open {\n  OPEN_UNSPECIFIED = 0;\n}\n")}, use=["ENUM_SAME_TYPE"])
case("editions__enum_same_type_ignored", {A: ED_ENUMS_PREV}, {A: ED_ENUMS_CUR}, use=["ENUM_SAME_TYPE"], ignore_only={"FILE": [A]})

ED_FIELDS_PREV = ed("message M {\n  string a = 1;\n  string b = 2 [features.utf8_validation = NONE];\n  int32 c = 3;\n  int32 d = 4 [features.field_presence = IMPLICIT];\n  N e = 5;\n  int32 f = 6 [features.field_presence = LEGACY_REQUIRED];\n}\n\nmessage N {}\n")
ED_FIELDS_CUR = ed("message M {\n  string a = 1 [features.utf8_validation = NONE];\n  string b = 2;\n  int32 c = 3 [features.field_presence = IMPLICIT];\n  int32 d = 4 [features.field_presence = LEGACY_REQUIRED];\n  N e = 5 [features.message_encoding = DELIMITED];\n  int32 f = 6;\n}\n\nmessage N {}\n")
case("editions__fields", {A: ED_FIELDS_PREV}, {A: ED_FIELDS_CUR}, use=["FILE"])
case("editions__fields_wire", {A: ED_FIELDS_PREV}, {A: ED_FIELDS_CUR}, use=["WIRE"])
case("editions__fields_ignored", {A: ED_FIELDS_PREV}, {A: ED_FIELDS_CUR}, use=["FILE"], ignore=[A])
case("editions__from_proto3",
     {A: p3("message M {\n  string a = 1;\n  int32 b = 2;\n  optional int32 c = 3;\n  repeated int32 d = 4;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n")},
     {A: ed("message M {\n  string a = 1;\n  int32 b = 2 [features.field_presence = IMPLICIT];\n  int32 c = 3;\n  repeated int32 d = 4;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n")},
     use=["FILE"])
case("editions__from_proto2",
     {A: p2("message M {\n  optional string a = 1;\n  required int32 b = 2;\n  optional group G = 3 {\n    optional int32 x = 1;\n  }\n}\n\nenum E {\n  E_ZERO = 0;\n}\n")},
     {A: ed("message M {\n  string a = 1 [features.utf8_validation = NONE];\n  int32 b = 2 [features.field_presence = LEGACY_REQUIRED];\n  message G {\n    int32 x = 1;\n  }\n  G g = 3 [features.message_encoding = DELIMITED];\n}\n\nenum E {\n  option features.enum_type = CLOSED;\n  E_ZERO = 0;\n}\n", extra="option features.json_format = LEGACY_BEST_EFFORT;\n")},
     use=["FILE", "WIRE_JSON", "WIRE"])
case("editions__json_format",
     {A: ed("message M {}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n")},
     {A: ed("message M {\n  option features.json_format = LEGACY_BEST_EFFORT;\n}\n\nenum E {\n  option features.json_format = LEGACY_BEST_EFFORT;\n  E_UNSPECIFIED = 0;\n}\n")},
     use=["WIRE_JSON"])
case("editions__cpp_java_features",
     {A: ed("message M {\n  string a = 1;\n  bytes b = 2;\n  string c = 3 [ctype = CORD];\n  string d = 4;\n}\n", extra='import "google/protobuf/cpp_features.proto";\nimport "google/protobuf/java_features.proto";\n')},
     {A: ed("message M {\n  string a = 1 [features.(pb.cpp).string_type = CORD];\n  bytes b = 2 [features.(pb.cpp).string_type = VIEW];\n  string c = 3;\n  string d = 4 [features.utf8_validation = NONE, features.(pb.java).utf8_validation = VERIFY];\n}\n", extra='import "google/protobuf/cpp_features.proto";\nimport "google/protobuf/java_features.proto";\n')},
     use=["FIELD_SAME_CPP_STRING_TYPE", "FIELD_SAME_JAVA_UTF8_VALIDATION", "FIELD_SAME_UTF8_VALIDATION"])
case("editions__java_utf8_file_feature",
     {A: ed("message M {\n  string a = 1 [features.utf8_validation = NONE];\n}\n", extra='import "google/protobuf/java_features.proto";\n')},
     {A: ed("message M {\n  string a = 1 [features.utf8_validation = NONE];\n}\n", extra='import "google/protobuf/java_features.proto";\noption features.(pb.java).utf8_validation = VERIFY;\n')},
     use=["FIELD_SAME_JAVA_UTF8_VALIDATION"])

# ---------------------------------------------------------------- scenarios
case("scenario__proto3_to_proto2",
     {A: p3("message M {\n  string a = 1;\n  int32 b = 2;\n  repeated int32 c = 3;\n  map<string, string> d = 4;\n  E e = 5;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n")},
     {A: p2("message M {\n  optional string a = 1;\n  optional int32 b = 2;\n  repeated int32 c = 3;\n  map<string, string> d = 4;\n  optional E e = 5;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n")},
     use=["FILE"])
case("scenario__renamed_file",
     {"foo/v1/old.proto": p3("message M {\n  int32 a = 1;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n\nservice S {\n  rpc Get(M) returns (M);\n}\n")},
     {"foo/v1/new.proto": p3("message M {\n  int32 a = 1;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n\nservice S {\n  rpc Get(M) returns (M);\n}\n")},
     use=["FILE"])
case("scenario__renamed_file_package",
     {"foo/v1/old.proto": p3("message M {\n  int32 a = 1;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n\nservice S {\n  rpc Get(M) returns (M);\n}\n")},
     {"foo/v1/new.proto": p3("message M {\n  int32 a = 1;\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n}\n\nservice S {\n  rpc Get(M) returns (M);\n}\n")},
     use=["PACKAGE"])
case("scenario__moved_types_wire",
     {"foo/v1/a.proto": p3("message M {\n  int32 a = 1;\n}\n\nmessage Gone {\n  int32 x = 1;\n}\n")},
     {"foo/v1/a.proto": p3("message M {\n  int64 a = 1;\n}\n"), "foo/v1/b.proto": p3("message Gone {\n  sint32 x = 1;\n}\n")},
     use=["WIRE"])
case("scenario__nested_changes_file",
     {A: p3("message Outer {\n  message Middle {\n    message Inner {\n      int32 a = 1;\n      string b = 2;\n    }\n    enum Kind {\n      KIND_UNSPECIFIED = 0;\n      KIND_A = 1;\n    }\n    Inner inner = 1;\n  }\n  Middle middle = 1;\n  oneof choice {\n    int32 x = 2;\n    string y = 3;\n  }\n}\n")},
     {A: p3("message Outer {\n  message Middle {\n    message Inner {\n      int64 a = 1;\n    }\n    Inner inner = 1;\n  }\n  Middle middle = 1;\n  int32 x = 2;\n}\n")},
     use=["FILE"])
case("scenario__wkt_and_maps",
     {A: p3("import \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/duration.proto\";\n\nmessage M {\n  google.protobuf.Timestamp t = 1;\n  map<string, int32> counts = 2;\n  map<int32, google.protobuf.Duration> d = 3;\n}\n")},
     {A: p3("import \"google/protobuf/duration.proto\";\n\nmessage M {\n  google.protobuf.Duration t = 1;\n  map<string, int64> counts = 2;\n  map<string, google.protobuf.Duration> d = 3;\n}\n")},
     use=["FILE", "WIRE"])
case("scenario__extensions_and_groups",
     {A: p2("message Base {\n  extensions 100 to 199;\n  optional group G = 1 {\n    optional int32 x = 1;\n  }\n}\n\nmessage Scope {\n  extend Base {\n    optional int32 scoped = 100;\n    repeated string list = 101;\n  }\n}\n\nextend Base {\n  optional Base self = 102;\n}\n")},
     {A: p2("message Base {\n  extensions 100 to 150;\n  optional group H = 1 {\n    optional int32 x = 1;\n  }\n}\n\nmessage Scope {\n  extend Base {\n    optional int64 scoped = 100;\n    optional string list = 101;\n  }\n}\n\nextend Base {\n  optional Scope self = 102;\n}\n")},
     use=["FILE"])
case("scenario__services_wire_json",
     {A: p3("message Req {}\nmessage Res {}\n\nservice S {\n  rpc A(Req) returns (Res);\n  rpc B(stream Req) returns (stream Res);\n  rpc C(Req) returns (Res);\n}\n\nservice T {\n  rpc X(Req) returns (Res);\n}\n")},
     {A: p3("message Req {}\nmessage Res {}\n\nservice S {\n  rpc A(Res) returns (Req);\n  rpc B(Req) returns (Res) {\n    option idempotency_level = IDEMPOTENT;\n  }\n}\n")},
     use=["WIRE_JSON"])
case("scenario__options_many_files",
     {"x/a.proto": p3("message A {}\n", pkg="x.v1", extra='option go_package = "example.com/x";\noption java_package = "com.x";\n'),
      "x/b.proto": p3("message B {}\n", pkg="x.v1"),
      "y/c.proto": p3("message C {}\n", pkg="y.v1", extra="option optimize_for = SPEED;\n")},
     {"x/a.proto": p3("message A {}\n", pkg="x.v1", extra='option go_package = "example.com/x2";\n'),
      "x/b.proto": p3("message B {}\n", pkg="x.v1", extra='option csharp_namespace = "X";\n'),
      "y/c.proto": p3("message C {}\n", pkg="y.v1", extra="option optimize_for = LITE_RUNTIME;\noption cc_enable_arenas = false;\n")},
     use=["FILE"], ignore=["y"], ignore_only={"FILE_SAME_JAVA_PACKAGE": ["x/a.proto"]})
case("scenario__unstable_packages",
     {"a/v1beta1/a.proto": p3("message A {\n  int32 x = 1;\n}\n", pkg="a.v1beta1"),
      "b/v1/b.proto": p3("message B {\n  int32 x = 1;\n}\n", pkg="b.v1"),
      "c/v1test/c.proto": p3("message C {}\n", pkg="c.v1test")},
     {"a/v1beta1/a.proto": p3("message A {}\n", pkg="a.v1beta1"),
      "b/v1/b.proto": p3("message B {}\n", pkg="b.v1")},
     use=["FILE", "PACKAGE"], unstable=True)
case("scenario__tabs_and_comments",
     {A: 'syntax = "proto3";\n\npackage foo.v1;\n\n// Leading comment.\nmessage M {\n\tint32 a = 1; // trailing\n\t/* block */ string b = 2;\n\tmessage N {\n\t\tbool c = 1;\n\t}\n}\n'},
     {A: 'syntax = "proto3";\n\npackage foo.v1;\n\n// Leading comment.\nmessage M {\n\tint64 a = 1; // trailing\n\t/* block */ bytes b = 2;\n\tmessage N {\n\t}\n}\n'},
     use=["FILE"])
case("scenario__deleted_parents",
     {A: p2("message Outer {\n  message Inner {\n    enum E {\n      E_ZERO = 0;\n    }\n    extensions 10 to 20;\n  }\n  extend Inner {\n    optional int32 ext = 10;\n  }\n}\n\nmessage Kept {\n  message Gone {\n    message Deeper {}\n  }\n}\n")},
     {A: p2("message Kept {}\n")},
     use=["FILE", "PACKAGE"])
case("scenario__no_changes",
     {A: p3("message M {\n  int32 a = 1;\n}\n")}, {A: p3("message M {\n  // a comment\n  int32 a = 1;\n}\n")},
     use=["FILE", "PACKAGE", "WIRE_JSON", "WIRE"])

# Found by the differential fuzzer (compat/tests/it/fuzz.rs), minimized.
case("scenario__package_service_deleted_last",
     {A: p3("message M {}\n\nservice S {\n  rpc Get(M) returns (M);\n}\n")},
     {A: p3("message M {}\n")},
     use=["PACKAGE"])
case("scenario__package_message_parent_moved_package",
     {A: p3("message Outer {\n  message Inner {}\n  enum Kind {\n    KIND_UNSPECIFIED = 0;\n  }\n}\n"),
      "b.proto": p3("message Keep {}\n\nenum Other {\n  OTHER_UNSPECIFIED = 0;\n}\n")},
     {A: p3("message Outer {}\n", pkg="foo.v2"),
      "b.proto": p3("message Keep {}\n\nenum Other {\n  OTHER_UNSPECIFIED = 0;\n}\n")},
     use=["PACKAGE"])
case("scenario__package_message_parent_in_other_file",
     {A: p3("message Outer {\n  message Inner {}\n}\n\nmessage Stay {}\n"),
      "b.proto": p3("message Keep {}\n")},
     {A: p3("message Stay {}\n"),
      "b.proto": p3("message Keep {}\n\nmessage Outer {}\n")},
     use=["PACKAGE"])
case("scenario__json_name_many_fields",
     {A: p3("message M {\n" + "".join(f"  int32 f{i} = {i};\n" for i in range(1, 7)) + "}\n")},
     {A: p3("message M {\n" + "".join(f"  int32 f{i} = {i} [json_name = \"j{i}\"];\n" for i in range(1, 7)) + "}\n")},
     use=["FILE"])


def write_tree(base, files):
    for path, content in files.items():
        full = os.path.join(base, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)


def main():
    if "--clean" in sys.argv:
        # drop generated cases that are no longer defined
        for name in os.listdir(ROOT):
            if "__" in name and name not in CASES:
                shutil.rmtree(os.path.join(ROOT, name))
    for name, (previous, current, config) in sorted(CASES.items()):
        base = os.path.join(ROOT, name)
        # known-difference.txt (hand-written, see tests/compat/README.md) is kept.
        for side in ("previous", "current"):
            if os.path.isdir(os.path.join(base, side)):
                shutil.rmtree(os.path.join(base, side))
            os.makedirs(os.path.join(base, side), exist_ok=True)
        write_tree(os.path.join(base, "previous"), previous)
        write_tree(os.path.join(base, "current"), current)
        with open(os.path.join(base, "buf.yaml"), "w") as f:
            f.write(config)
    print(f"wrote {len(CASES)} cases to {os.path.normpath(ROOT)}")


if __name__ == "__main__":
    main()
