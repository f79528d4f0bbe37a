#include <kubecoro/http/errc.hpp>

#include <string>

namespace kubecoro::http {
namespace {
class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kubecoro.http"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::bad_status_line:
            return "malformed status line";
        case errc::bad_field:
            return "malformed header field";
        case errc::head_too_large:
            return "message head too large";
        case errc::bad_content_length:
            return "invalid Content-Length";
        case errc::bad_chunk:
            return "malformed chunked encoding";
        case errc::body_too_large:
            return "message body too large";
        case errc::line_too_long:
            return "line too long";
        case errc::unexpected_eof:
            return "connection closed before the message was complete";
        case errc::bad_request_line:
            return "malformed request line";
        case errc::unsupported_transfer_coding:
            return "unsupported transfer coding";
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

} // namespace kubecoro::http
