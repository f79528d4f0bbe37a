#include <kubecoro/config/errc.hpp>

#include <string>

namespace kubecoro::config {
namespace {
class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kubecoro.config"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::no_configuration:
            return "no configuration";
        case errc::unreadable:
            return "file not readable";
        case errc::malformed:
            return "malformed configuration";
        case errc::missing_field:
            return "missing field";
        case errc::unknown_context:
            return "unknown context";
        case errc::exec_failed:
            return "exec credential plugin failed";
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

} // namespace kubecoro::config
