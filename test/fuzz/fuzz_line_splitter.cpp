// Any bytes as a watch stream: the same lines and error however split; lines hold no '\n', are
// never empty and never longer than the limit.
#include "fuzz_support.hpp"
#include <kubecoro/http/line_splitter.hpp>

namespace {

struct outcome {
    std::vector<std::string> lines;
    std::optional<std::error_code> error;
    std::size_t pending = 0;
    bool operator==(const outcome&) const = default;
};

constexpr std::size_t max_line = 64;

outcome drive(const std::vector<std::string_view>& pieces) {
    kubecoro::http::line_splitter s(max_line);
    outcome out;
    for (auto piece : pieces) {
        auto r = s.feed(piece, [&](std::string_view line) {
            fuzz::check(!line.empty() && line.size() <= max_line &&
                        line.find('\n') == std::string_view::npos);
            out.lines.emplace_back(line);
        });
        if (!r) {
            out.error = r.error().code;
            break;
        }
        fuzz::check(s.pending() <= max_line + 1);
    }
    out.pending = s.pending();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    auto in = fuzz::as_view(data + 1, size - 1);
    auto whole = drive({in});
    for (const auto& pieces : fuzz::splits(in, data[0]))
        fuzz::check(drive(pieces) == whole);
    return 0;
}
