#include <kubecoro/admission/review.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>

namespace kubecoro::admission {
namespace {

core::failure bad(std::string what) {
    return core::fail(core::errc::invalid_argument, "AdmissionReview: " + what);
}

std::string text(const json::value* v) {
    return v && v->if_string() ? *v->if_string() : std::string();
}

// An object, or absent: the API server sends null for the side that does not exist.
std::optional<json::value> embedded(const json::value* v) {
    if (!v || !v->is_object())
        return std::nullopt;
    return *v;
}

} // namespace

verdict verdict::deny(std::string message, int code, std::string reason) {
    verdict v;
    v.allowed = false;
    v.message = std::move(message);
    v.code = code;
    v.reason = std::move(reason);
    return v;
}

core::result<request> decode_review(std::string_view body) {
    auto doc = json::parse(body);
    if (!doc)
        return bad("not JSON: " + doc.error().message);
    if (!doc->is_object())
        return bad("not a JSON object");
    if (text(doc->at("apiVersion")) != "admission.k8s.io/v1" || text(doc->at("kind")) != "AdmissionReview")
        return bad("expected apiVersion admission.k8s.io/v1, kind AdmissionReview");
    const json::value* r = doc->at("request");
    if (!r || !r->is_object())
        return bad("no request");
    request out;
    out.uid = text(r->at("uid"));
    out.operation = text(r->at("operation"));
    out.group = text(r->at("kind", "group"));
    out.version = text(r->at("kind", "version"));
    out.kind = text(r->at("kind", "kind"));
    out.resource = text(r->at("resource", "resource"));
    out.subresource = text(r->at("subResource"));
    out.name = text(r->at("name"));
    out.namespace_ = text(r->at("namespace"));
    out.user = text(r->at("userInfo", "username"));
    const json::value* dry = r->at("dryRun");
    out.dry_run = dry && dry->bool_or(false);
    if (out.uid.empty())
        return bad("request.uid is missing");
    if (out.operation != "CREATE" && out.operation != "UPDATE" && out.operation != "DELETE" &&
        out.operation != "CONNECT")
        return bad("request.operation must be CREATE, UPDATE, DELETE or CONNECT");
    if (out.kind.empty() || out.version.empty())
        return bad("request.kind is missing");
    out.object = embedded(r->at("object"));
    out.old_object = embedded(r->at("oldObject"));
    if ((out.operation == "CREATE" || out.operation == "UPDATE") && !out.object)
        return bad("request.object is missing on " + out.operation);
    if (out.operation == "UPDATE" && !out.old_object)
        return bad("request.oldObject is missing on UPDATE");
    return out;
}

std::string encode_response(std::string_view uid, const verdict& v) {
    json::object response{{"uid", std::string(uid)}, {"allowed", v.allowed}};
    if (!v.allowed) {
        json::object status{{"status", "Failure"}, {"message", v.message}};
        if (v.code)
            status.set("code", static_cast<std::int64_t>(v.code));
        if (!v.reason.empty())
            status.set("reason", v.reason);
        response.set("status", std::move(status));
    }
    if (!v.warnings.empty()) {
        json::array warnings;
        for (const auto& w : v.warnings)
            warnings.emplace_back(w);
        response.set("warnings", std::move(warnings));
    }
    json::object review{{"apiVersion", "admission.k8s.io/v1"},
                        {"kind", "AdmissionReview"},
                        {"response", std::move(response)}};
    return json::write(review);
}

} // namespace kubecoro::admission
