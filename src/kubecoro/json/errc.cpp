#include <kubecoro/json/errc.hpp>

#include <string>

namespace kubecoro::json {
namespace {
class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kubecoro.json"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::syntax:
            return "invalid JSON";
        case errc::type:
            return "unexpected JSON shape";
        case errc::too_deep:
            return "JSON nested too deeply";
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

} // namespace kubecoro::json
