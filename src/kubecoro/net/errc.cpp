#include <kubecoro/core/error_category.hpp>
#include <kubecoro/net/errc.hpp>

namespace kubecoro::net {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
    case errc::bad_address:
        return "bad address";
    case errc::tls_config:
        return "unusable TLS material";
    case errc::resolve:
        return "host name not resolved";
    case errc::connect:
        return "connect failed";
    case errc::tls_handshake:
        return "TLS handshake failed";
    case errc::read:
        return "read failed";
    case errc::write:
        return "write failed";
    case errc::closed:
        return "connection closed by peer";
    case errc::listen:
        return "listen failed";
    }
    return nullptr;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.net", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::net
