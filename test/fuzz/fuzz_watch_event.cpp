// libFuzzer target: watch event lines and arbitrary JSON must never crash the reader, and
// whatever parses must survive a write/parse round trip unchanged.
#include <kubecoro/json/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace kubecoro;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto ev = json::decode_watch_event(text)) {
        if (!ev->object.is_object())
            std::abort();
        if (ev->object.at("metadata", "managedFields"))
            std::abort();
        (void)json::decode_meta(ev->object);
        (void)json::decode_status_object(ev->object);
    }
    (void)json::decode_list(text);
    (void)json::decode_status(text);

    auto v = json::parse(text);
    if (!v)
        return 0;
    const std::string once = json::write(*v);
    auto again = json::parse(once);
    if (!again || !(*again == *v)) {
        std::fprintf(stderr, "round trip changed the value: %s\n", once.c_str());
        std::abort();
    }
    if (json::write(*again) != once) // deterministic
        std::abort();
    return 0;
}
