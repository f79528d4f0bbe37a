// Chunked bodies. The input is used twice: as the raw bytes after a chunked head (any outcome but a
// crash, the same however split), and as a payload we chunk ourselves (it must decode back exactly).
#include "fuzz_support.hpp"

namespace {

constexpr std::string_view head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string chunk(std::string_view payload, std::uint8_t seed) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(head);
    std::size_t size = seed % 7 + 1;
    while (!payload.empty()) {
        auto n = std::min(size, payload.size());
        std::string len;
        for (auto v = n; v; v >>= 4)
            len.insert(len.begin(), hex[v & 0xf]);
        out += len;
        if (seed & 0x80)
            out += ";ext=\"x\"";
        out.append("\r\n").append(payload.substr(0, n)).append("\r\n");
        payload.remove_prefix(n);
        size = size * 3 % 11 + 1; // vary chunk sizes
    }
    out += (seed & 0x40) ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n";
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    auto in = fuzz::as_view(data + 1, size - 1);
    kubecoro::http::parser_limits limits{.max_head_bytes = 1024, .max_body_bytes = 4096};

    std::string raw = std::string(head) + std::string(in);
    auto whole = fuzz::drive_responses({raw}, false, limits);
    for (const auto& pieces : fuzz::splits(raw, data[0] * 7))
        fuzz::check(fuzz::drive_responses(pieces, false, limits) == whole);

    if (in.size() <= limits.max_body_bytes) {
        auto encoded = chunk(in, data[0]);
        for (const auto& pieces : fuzz::splits(encoded, data[0])) {
            auto out = fuzz::drive_responses(pieces, false, limits);
            fuzz::check(!out.error && out.messages.size() == 1 && out.messages[0].body == in &&
                        out.messages[0].keep_alive);
        }
    }
    return 0;
}
