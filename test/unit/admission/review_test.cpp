#include <kubecoro/admission/review.hpp>
#include <kubecoro/admission/webhook.hpp>
#include <kubecoro/json/json.hpp>

#include <doctest/doctest.h>

#include <optional>

using namespace kubecoro;

namespace {

const char* create_review = R"({
  "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
  "request": {
    "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
    "kind": {"group": "kubecoro.dev", "version": "v1alpha1", "kind": "Database"},
    "resource": {"group": "kubecoro.dev", "version": "v1alpha1", "resource": "databases"},
    "requestKind": {"group": "kubecoro.dev", "version": "v1alpha1", "kind": "Database"},
    "name": "db1", "namespace": "demo", "operation": "CREATE",
    "userInfo": {"username": "admin", "groups": ["system:masters"]},
    "object": {"apiVersion": "kubecoro.dev/v1alpha1", "kind": "Database", "metadata": {"name": "db1"},
               "spec": {"engine": "postgresql"}},
    "oldObject": null, "dryRun": true, "options": {"kind": "CreateOptions"}
  }
})";

std::string with(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("admission review: a CREATE decodes with its object and no old object") {
    auto r = admission::decode_review(create_review);
    REQUIRE(r);
    CHECK(r->uid == "705ab4f5-6393-11e8-b7cc-42010a800002");
    CHECK(r->operation == "CREATE");
    CHECK(r->group == "kubecoro.dev");
    CHECK(r->version == "v1alpha1");
    CHECK(r->kind == "Database");
    CHECK(r->resource == "databases");
    CHECK(r->subresource.empty());
    CHECK(r->name == "db1");
    CHECK(r->namespace_ == "demo");
    CHECK(r->user == "admin");
    CHECK(r->dry_run);
    REQUIRE(r->object);
    CHECK(r->object->at("spec", "engine")->string_or("") == "postgresql");
    CHECK_FALSE(r->old_object);
}

TEST_CASE("admission review: what is not a usable AdmissionReview is refused, saying why") {
    auto refused = [](const std::string& body, std::string_view why) {
        auto r = admission::decode_review(body);
        REQUIRE_FALSE(r);
        CHECK_MESSAGE(r.error().message.find(why) != std::string::npos, r.error().message);
    };
    refused("", "not JSON");
    refused("[1]", "not a JSON object");
    refused(with(create_review, "admission.k8s.io/v1", "admission.k8s.io/v1beta1"), "admission.k8s.io/v1");
    refused(with(create_review, "\"AdmissionReview\"", "\"Review\""), "AdmissionReview");
    refused(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "no request");
    refused(with(create_review, "705ab4f5-6393-11e8-b7cc-42010a800002", ""), "uid");
    refused(with(create_review, "\"CREATE\"", "\"PATCH\""), "operation");
    refused(with(create_review, "\"operation\": \"CREATE\"", "\"operation\": 7"), "operation");
    refused(with(create_review, "\"object\": {", "\"object\": null, \"x\": {"), "object is missing");
    refused(with(create_review, "\"CREATE\"", "\"UPDATE\""), "oldObject is missing");
    refused(with(create_review,
                 "\"kind\": {\"group\": \"kubecoro.dev\", \"version\": \"v1alpha1\", \"kind\": \"Database\"}",
                 "\"kind\": 5"),
            "kind");
    // DELETE has no object, only the old one.
    auto del = admission::decode_review(with(with(create_review, "\"CREATE\"", "\"DELETE\""),
                                             "\"oldObject\": null",
                                             "\"oldObject\": {\"spec\": {}}"));
    REQUIRE(del);
    CHECK(del->old_object);
}

TEST_CASE("admission review: the response echoes the uid; a refusal carries code, reason and message") {
    auto allowed = json::parse(admission::encode_response("u-1", admission::verdict::allow()));
    REQUIRE(allowed);
    CHECK(allowed->at("apiVersion")->string_or("") == "admission.k8s.io/v1");
    CHECK(allowed->at("kind")->string_or("") == "AdmissionReview");
    CHECK(allowed->at("response", "uid")->string_or("") == "u-1");
    CHECK(allowed->at("response", "allowed")->bool_or(false));
    CHECK_FALSE(allowed->at("response", "status"));
    CHECK_FALSE(allowed->at("response", "warnings"));

    auto v = admission::verdict::deny("spec.storage: cannot \"shrink\"", 422, "Invalid");
    v.warnings = {"w1"};
    auto denied = json::parse(admission::encode_response("u-2", v));
    REQUIRE(denied);
    CHECK_FALSE(denied->at("response", "allowed")->bool_or(true));
    CHECK(denied->at("response", "status", "code")->int_or(0) == 422);
    CHECK(denied->at("response", "status", "reason")->string_or("") == "Invalid");
    CHECK(denied->at("response", "status", "message")->string_or("") == "spec.storage: cannot \"shrink\"");
    CHECK(denied->at("response", "warnings")->if_array()->size() == 1);
}

TEST_CASE("admission handler: routes by path; wrong method, path or body get plain HTTP errors") {
    asio::io_context io;
    int calls = 0;
    std::vector<admission::route> routes{
        {"/validate-x",
         [&calls](const admission::request& r) -> awaitable<admission::verdict> {
             ++calls;
             co_return r.name == "db1" ? admission::verdict::deny("no") : admission::verdict::allow();
         }},
        {"/throws",
         [](const admission::request&) -> awaitable<admission::verdict> {
             throw std::runtime_error("boom");
             co_return admission::verdict::allow();
         }},
    };
    auto h = admission::handler(routes, log::logger(log::logger_config{.min_level = log::level::error}));
    auto call = [&](std::string method, std::string target, std::string body) {
        std::optional<net::http_reply> out;
        http::request req{std::move(method), std::move(target), {}, std::move(body)};
        asio::co_spawn(io, h(req), [&](std::exception_ptr e, net::http_reply r) {
            if (e)
                r.status = 500; // what http_server makes of it
            out = std::move(r);
        });
        io.run();
        io.restart();
        REQUIRE(out);
        return *out;
    };
    auto ok = call("POST", "/validate-x?timeout=5s", create_review);
    CHECK(ok.status == 200);
    CHECK(ok.content_type == "application/json");
    auto parsed = json::parse(ok.body);
    REQUIRE(parsed);
    CHECK_FALSE(parsed->at("response", "allowed")->bool_or(true));
    CHECK(parsed->at("response", "status", "message")->string_or("") == "no");
    CHECK(call("POST", "/other", create_review).status == 404);
    CHECK(call("GET", "/validate-x", "").status == 405);
    CHECK(call("POST", "/validate-x", "{}").status == 400);
    CHECK(call("POST", "/throws", create_review).status == 500);
    CHECK(calls == 1);
}
