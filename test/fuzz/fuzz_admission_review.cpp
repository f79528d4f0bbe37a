// libFuzzer target: any body POSTed to the webhook must decode to a request or a clear error, never
// crash; a decoded request's verdict must encode to a response that parses and echoes its uid.
#include <kubecoro/admission/review.hpp>
#include <kubecoro/json/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace kubecoro;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = admission::decode_review(text);
    if (!r) {
        if (r.error().message.empty())
            std::abort();
        return 0;
    }
    if (r->uid.empty() || r->kind.empty() || r->version.empty())
        std::abort();
    if ((r->operation == "CREATE" || r->operation == "UPDATE") && !r->object)
        std::abort();
    if (r->operation == "UPDATE" && !r->old_object)
        std::abort();
    auto v = admission::verdict::deny(r->name + r->namespace_);
    v.warnings.push_back(r->user);
    auto back = json::parse(admission::encode_response(r->uid, v));
    if (!back || back->at("response", "uid")->string_or("") != r->uid)
        std::abort();
    return 0;
}
