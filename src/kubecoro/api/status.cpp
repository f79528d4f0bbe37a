#include <kubecoro/api/errc.hpp>
#include <kubecoro/api/status.hpp>

namespace kubecoro::api {

core::error to_error(int http_status, const status& s) {
    // A watch ERROR event carries its Status without an HTTP status of its own.
    int code = http_status != 0 ? http_status : s.code;
    std::string message = std::to_string(code);
    if (!s.reason.empty())
        message.append(" ").append(s.reason);
    if (!s.message.empty())
        message.append(": ").append(s.message);
    core::error e{make_error_code(errc_from_status(code, s.reason.c_str())), std::move(message), code};
    if (s.retry_after_seconds > 0)
        e.retry_after = std::chrono::seconds(s.retry_after_seconds);
    return e;
}

} // namespace kubecoro::api
