#include <kubecoro/config/errc.hpp>
#include <kubecoro/core/error_category.hpp>

namespace kubecoro::config {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
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
    return nullptr;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.config", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::config
