// Any bytes as requests to the probe server: no crash, limits respected, same outcome however split.
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    std::size_t at = data[0] | (std::size_t{data[1]} << 8);
    auto in = fuzz::as_view(data + 2, size - 2);
    kubecoro::http::request_limits limits{.max_head_bytes = 512, .max_body_bytes = 16};

    auto whole = fuzz::drive_requests({in}, limits);
    for (const auto& pieces : fuzz::splits(in, at))
        fuzz::check(fuzz::drive_requests(pieces, limits) == whole);
    return 0;
}
