#include <kubecoro/admission/webhook.hpp>

#include <memory>

namespace kubecoro::admission {
namespace {

net::http_reply text_reply(int status, std::string body) {
    net::http_reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

} // namespace

net::async_handler handler(std::vector<route> routes, log::logger log) {
    auto table = std::make_shared<const std::vector<route>>(std::move(routes));
    return [table, log](const http::request& http) -> awaitable<net::http_reply> {
        std::string_view path = http.target;
        path = path.substr(0, path.find('?'));
        const route* found = nullptr;
        for (const auto& r : *table)
            if (r.path == path)
                found = &r;
        if (!found)
            co_return text_reply(404, "no admission webhook at this path\n");
        if (http.method != "POST")
            co_return text_reply(405, "POST an AdmissionReview\n");
        auto review = decode_review(http.body);
        if (!review) {
            log.warn("bad AdmissionReview", {{"path", path}, {"error", review.error()}});
            co_return text_reply(400, review.error().message + "\n");
        }
        verdict v = co_await found->admit(*review);
        if (!v.allowed)
            log.info("admission refused",
                     {{"operation", review->operation},
                      {"kind", review->kind},
                      {"object", review->namespace_ + "/" + review->name},
                      {"user", review->user},
                      {"message", v.message}});
        net::http_reply reply;
        reply.content_type = "application/json";
        reply.body = encode_response(review->uid, v);
        co_return reply;
    };
}

} // namespace kubecoro::admission
