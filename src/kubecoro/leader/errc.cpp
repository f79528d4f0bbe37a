#include <kubecoro/core/error_category.hpp>
#include <kubecoro/leader/errc.hpp>

namespace kubecoro::leader {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
    case errc::lost_leadership:
        return "lost leadership";
    case errc::not_leader:
        return "not the leader";
    case errc::election_over:
        return "the election is over";
    case errc::bad_lease:
        return "undecodable Lease";
    }
    return nullptr;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.leader", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::leader
