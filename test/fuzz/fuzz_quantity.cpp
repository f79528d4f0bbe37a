// Any string as a quantity: no crash or undefined behaviour; signs behave; the rounding accessors
// agree with the exact value.
#include "fuzz_support.hpp"
#include <kubecoro/api/quantity.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using kubecoro::api::parse_quantity;
    using kubecoro::api::sign_policy;
    auto in = fuzz::as_view(data, size);
    auto q = parse_quantity(in);
    auto non_negative = parse_quantity(in, sign_policy::non_negative);
    fuzz::check(non_negative.has_value() == (q.has_value() && q->nano >= 0));
    if (!q)
        return 0;
    fuzz::check(*q == *q && !(*q < *q));
    if (!in.empty() && in[0] != '+' && in[0] != '-') {
        auto plus = parse_quantity("+" + std::string(in));
        auto minus = parse_quantity("-" + std::string(in));
        fuzz::check(plus && *plus == *q);
        fuzz::check(minus && minus->nano == -q->nano);
    }
    // Whole units are rounded away from zero.
    auto v = q->value();
    if (v > INT64_MIN && v < INT64_MAX) {
        __int128 units = static_cast<__int128>(v) * 1'000'000'000;
        fuzz::check(q->nano >= 0 ? units >= q->nano && units - q->nano < 1'000'000'000
                                 : units <= q->nano && q->nano - units < 1'000'000'000);
    }
    return 0;
}
