// Any bytes as a response stream: no crash, limits respected, and the same outcome however the
// bytes are split. Byte 0 picks HEAD; bytes 1-2 pick the split offset.
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3)
        return 0;
    bool head_request = (data[0] & 1) != 0;
    std::size_t at = data[1] | (std::size_t{data[2]} << 8);
    auto in = fuzz::as_view(data + 3, size - 3);
    kubecoro::http::parser_limits limits{.max_head_bytes = 1024, .max_body_bytes = 4096};

    auto whole = fuzz::drive_responses({in}, head_request, limits);
    for (const auto& pieces : fuzz::splits(in, at))
        fuzz::check(fuzz::drive_responses(pieces, head_request, limits) == whole);
    return 0;
}
