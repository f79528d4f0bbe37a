// line_splitter::feed, a template because the callback is inlined on the watch hot path.
#pragma once

#include <kubecoro/http/errc.hpp>
#include <kubecoro/http/line_splitter.hpp>

#include <type_traits>

namespace kubecoro::http {

template <class F>
core::result<void> line_splitter::feed(std::string_view data, F&& on_line) {
    auto too_long = [this] {
        pending_.clear();
        return core::fail(errc::line_too_long, "line longer than " + std::to_string(max_line_) + " bytes");
    };
    while (!data.empty()) {
        auto nl = data.find('\n');
        if (nl == std::string_view::npos) {
            // One byte of slack for a '\r' that the line's '\n' will strip.
            if (pending_.size() + data.size() > max_line_ + 1)
                return too_long();
            pending_.append(data);
            return {};
        }
        std::string_view line = data.substr(0, nl);
        data.remove_prefix(nl + 1);
        if (!pending_.empty()) {
            if (pending_.size() + line.size() > max_line_ + 1)
                return too_long();
            pending_.append(line);
            line = pending_;
        }
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.size() > max_line_)
            return too_long();
        if (!line.empty()) {
            if constexpr (std::is_same_v<std::invoke_result_t<F&, std::string_view>, core::result<void>>) {
                auto r = on_line(line);
                if (!r) {
                    pending_.clear();
                    return r;
                }
            } else {
                on_line(line);
            }
        }
        pending_.clear();
    }
    return {};
}

} // namespace kubecoro::http
