// Kubernetes resource quantities ("10Gi", "500m", "1.5G", "1e3") as exact, comparable values.
#pragma once

#include <kubecoro/core/result.hpp>

#include <compare>
#include <cstdint>
#include <string_view>

namespace kubecoro::api {

// A quantity in nano-units, exact for every suffix up to Ei and E. Like Kubernetes, digits finer than
// 1n are rounded up (away from zero). |value| must stay below about 1.7e29 units.
struct quantity {
    __int128 nano = 0;

    // Whole units, rounded up as Kubernetes' Quantity.Value() does (saturates at the int64 range).
    std::int64_t value() const noexcept;
    // Milli-units, rounded up as Quantity.MilliValue() does (saturates at the int64 range).
    std::int64_t milli_value() const noexcept;

    friend constexpr auto operator<=>(const quantity&, const quantity&) = default;
};

enum class sign_policy { allow_negative, non_negative };

// Parses `<sign><digits>[.<digits>]<suffix>` where suffix is one of n u m "" k M G T P E, Ki Mi Gi Ti
// Pi Ei, or an exponent e<int> / E<int>. Fails with core::errc::invalid_argument and a message naming
// the input; with sign_policy::non_negative a value below zero fails too.
core::result<quantity> parse_quantity(std::string_view s, sign_policy sign = sign_policy::allow_negative);

} // namespace kubecoro::api
