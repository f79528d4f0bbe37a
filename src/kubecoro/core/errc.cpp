#include <kubecoro/core/errc.hpp>

#include <string>

namespace kubecoro::core {
namespace {
class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kubecoro.core"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::timeout: return "timed out";
        case errc::cancelled: return "cancelled";
        case errc::invalid_argument: return "invalid argument";
        case errc::io: return "I/O error";
        case errc::not_supported: return "not supported";
        }
        return "unknown error";
    }
};
} // namespace

const std::error_category& category() noexcept {
    static const category_impl instance;
    return instance;
}
std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

} // namespace kubecoro::core
