#include <kubecoro/config/detail/file.hpp>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace kubecoro::config::detail {
namespace {
// Kubeconfigs and certificates are small; the cap keeps a mistaken path (/dev/zero) harmless.
constexpr std::size_t max_file_size = 16 * 1024 * 1024;

core::failure errno_failure(int err, const std::string& path) {
    const std::error_code code(err, std::generic_category());
    return core::fail(code, path + ": " + code.message());
}
} // namespace

core::result<std::string> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno_failure(errno, path);
    std::string out;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            return errno_failure(err, path);
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_file_size) {
            ::close(fd);
            return errno_failure(EFBIG, path);
        }
    }
    ::close(fd);
    return out;
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n\f\v";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

} // namespace kubecoro::config::detail
