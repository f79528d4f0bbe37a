#include <kubecoro/core/error_category.hpp>
#include <kubecoro/http/errc.hpp>

namespace kubecoro::http {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
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
    return nullptr;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.http", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace kubecoro::http
