#include "common/meta.hpp"
#include "database/password.hpp"
#include "helloworld/helloworld.hpp"
#include "helpers.hpp"
#include <kubecoro/runtime/conditions.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace kubecoro;
using namespace kubecoro::controllers;
using test_helpers::parse;
using test_helpers::str;

TEST_CASE("generate_password: 32 URL-safe characters, different every time") {
    auto a = database::generate_password();
    auto b = database::generate_password();
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(a->size() == 32);
    CHECK(b->size() == 32);
    CHECK(*a != *b);
    std::set<char> seen;
    for (int i = 0; i < 64; ++i) {
        auto p = database::generate_password();
        REQUIRE(p.has_value());
        for (char c : *p) {
            CHECK(database::password_alphabet.find(c) != std::string_view::npos);
            seen.insert(c);
        }
    }
    // 2048 draws from 64 symbols: every symbol shows up unless the mapping is broken.
    CHECK(seen.size() == 64);
}

TEST_CASE("clip_message cuts long messages at a character boundary") {
    CHECK(clip_message("short", 10) == "short");
    CHECK(clip_message("0123456789abc", 10) == "0123456...");
    // "é" is two bytes: the cut backs off rather than splitting it.
    CHECK(clip_message("012345\xc3\xa9"
                       "789",
                       10) == "012345...");
    CHECK(clip_message(std::string(40000, 'x')).size() == 1024);
}

TEST_CASE("leading_integer and selector_string") {
    CHECK(leading_integer("16") == 16);
    CHECK(leading_integer("17.2-alpine") == 17);
    CHECK_FALSE(leading_integer("latest").has_value());
    CHECK_FALSE(leading_integer("").has_value());
    CHECK(selector_string({}) == "");
    CHECK(selector_string({{"b", "2"}, {"a", "1"}}) == "a=1,b=2");
}

TEST_CASE("helloworld: message, ConfigMap and status") {
    auto msg = helloworld::parse_message(parse(R"({"spec":{"message":"hi there"}})"));
    REQUIRE(msg.has_value());
    CHECK(*msg == "hi there");
    auto missing = helloworld::parse_message(parse(R"({"spec":{}})"));
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message == "spec.message: required");
    auto wrong = helloworld::parse_message(parse(R"({"spec":{"message":3}})"));
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error().message == "spec.message: must be a string");
    // 1 MiB of data fits a ConfigMap; one byte more does not (a 2-byte character counts twice).
    auto fits = helloworld::parse_message(
        parse(R"({"spec":{"message":")" + std::string(helloworld::max_message_bytes, 'x') + "\"}}"));
    CHECK(fits.has_value());
    std::string big;
    for (std::size_t i = 0; i < helloworld::max_message_bytes / 2 + 1; ++i)
        big += "\u00e9";
    auto too_big = helloworld::parse_message(parse(R"({"spec":{"message":")" + big + "\"}}"));
    REQUIRE_FALSE(too_big.has_value());
    CHECK(too_big.error().message ==
          "spec.message: 1048578 bytes do not fit a ConfigMap (at most 1048576 bytes)");

    api::object_meta hw;
    hw.name = "hello";
    hw.namespace_ = "demo";
    hw.uid = "u-1";
    hw.generation = 5;
    json::value cm = helloworld::render_configmap(hw, "hi there");
    CHECK(cm == parse(R"({"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"hello","namespace":"demo",
          "labels":{"app.kubernetes.io/instance":"hello","app.kubernetes.io/managed-by":"kubecoro",
                    "app.kubernetes.io/name":"helloworld"},
          "ownerReferences":[{"apiVersion":"kubecoro.dev/v1alpha1","kind":"HelloWorld","name":"hello","uid":"u-1",
                              "controller":true,"blockOwnerDeletion":true}]},
        "data":{"message":"hi there"}})"));

    json::value ok = helloworld::render_status(hw, {}, {}, "t1");
    CHECK(ok == parse(R"({"apiVersion":"kubecoro.dev/v1alpha1","kind":"HelloWorld",
        "metadata":{"name":"hello","namespace":"demo"},
        "status":{"observedGeneration":5,"conditions":[{"type":"Ready","status":"True","observedGeneration":5,
          "lastTransitionTime":"t1","reason":"ConfigMapApplied","message":"ConfigMap hello holds the message"}]}})"));

    auto previous = runtime::conditions_from_json(*ok.at("status", "conditions"));
    REQUIRE(previous.has_value());
    json::value failed = helloworld::render_status(
        hw, *previous, helloworld::outcome{helloworld::outcome_kind::apply_failed, "403 Forbidden"}, "t2");
    const json::value& c = failed.at("status", "conditions")->if_array()->front();
    CHECK(str(c.at("status")) == "False");
    CHECK(str(c.at("reason")) == "ApplyFailed");
    CHECK(str(c.at("message")) == "403 Forbidden");
    CHECK(str(c.at("lastTransitionTime")) == "t2");
    json::value invalid = helloworld::render_status(
        hw, {}, helloworld::outcome{helloworld::outcome_kind::invalid_spec, "spec.message: required"}, "t3");
    CHECK(str(invalid.at("status", "conditions")->if_array()->front().at("reason")) == "InvalidSpec");
}
