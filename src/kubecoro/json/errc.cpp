#include <kubecoro/core/error_category.hpp>
#include <kubecoro/json/errc.hpp>

namespace kubecoro::json {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
    case errc::syntax:
        return "invalid JSON";
    case errc::type:
        return "unexpected JSON shape";
    case errc::too_deep:
        return "JSON nested too deeply";
    }
    return nullptr;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.json", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::json
