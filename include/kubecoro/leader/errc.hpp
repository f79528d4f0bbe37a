// The leader module's outcomes.
#pragma once

#include <system_error>

namespace kubecoro::leader {

enum class errc {
    lost_leadership = 1, // the renew deadline passed or another holder took the lease
    not_leader,          // hold() without leading
    election_over,       // the election ended (the lease was released)
    bad_lease,           // a Lease whose fields do not decode
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace kubecoro::leader

template <>
struct std::is_error_code_enum<kubecoro::leader::errc> : std::true_type {};
