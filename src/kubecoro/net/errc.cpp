#include <kubecoro/net/errc.hpp>

#include <string>

namespace kubecoro::net {
namespace {
class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kubecoro.net"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
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

} // namespace kubecoro::net
