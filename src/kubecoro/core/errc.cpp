#include <kubecoro/core/errc.hpp>
#include <kubecoro/core/error_category.hpp>

namespace kubecoro::core {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
    case errc::timeout:
        return "timed out";
    case errc::cancelled:
        return "cancelled";
    case errc::invalid_argument:
        return "invalid argument";
    case errc::io:
        return "I/O error";
    case errc::not_supported:
        return "not supported";
    case errc::fenced:
        return "fenced";
    }
    return nullptr;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.core", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::core
