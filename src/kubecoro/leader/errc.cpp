#include <kubecoro/leader/errc.hpp>

#include <string>

namespace kubecoro::leader {
namespace {
class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kubecoro.leader"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::lost_leadership:
            return "lost leadership";
        case errc::not_leader:
            return "not the leader";
        case errc::election_over:
            return "the election is over";
        case errc::bad_lease:
            return "undecodable Lease";
        }
        return "unknown error";
    }
};
} // namespace

const std::error_category& category() noexcept {
    static const category_impl instance;
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::leader
