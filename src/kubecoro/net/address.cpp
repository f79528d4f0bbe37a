#include <kubecoro/net/address.hpp>
#include <kubecoro/net/errc.hpp>

#include <asio/ip/address.hpp>

#include <charconv>

namespace kubecoro::net {
namespace {

core::failure bad(std::string_view what, std::string_view input) {
    return core::fail(errc::bad_address, std::string(what) + ": \"" + std::string(input) + "\"");
}

// Splits "host", "host:port", "[v6]" or "[v6]:port"; port_text is empty when absent.
bool split_host_port(std::string_view s, std::string_view& host, std::string_view& port_text) {
    port_text = {};
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos)
            return false;
        host = s.substr(1, close - 1);
        auto rest = s.substr(close + 1);
        if (rest.empty())
            return true;
        if (rest.front() != ':')
            return false;
        port_text = rest.substr(1);
        return !port_text.empty();
    }
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        host = s;
        return true;
    }
    if (s.find(':') != colon)
        return false; // an IPv6 literal needs brackets
    host = s.substr(0, colon);
    port_text = s.substr(colon + 1);
    return !port_text.empty();
}

bool parse_port(std::string_view text, std::uint16_t& port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535)
        return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

} // namespace

std::string endpoint::to_string() const {
    if (host.find(':') != std::string::npos)
        return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

bool is_ip_literal(std::string_view host) {
    std::error_code ec;
    (void)asio::ip::make_address(std::string(host), ec);
    return !ec;
}

core::result<server_url> parse_server_url(std::string_view url) {
    server_url out;
    auto sep = url.find("://");
    if (sep == std::string_view::npos)
        return bad("server URL without scheme", url);
    auto scheme_text = url.substr(0, sep);
    if (scheme_text == "https")
        out.scheme = scheme::https;
    else if (scheme_text == "http")
        out.scheme = scheme::http;
    else
        return bad("server URL scheme is not http or https", url);
    auto rest = url.substr(sep + 3);
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        auto prefix = rest.substr(slash);
        if (prefix.find_first_of("?#") != std::string_view::npos)
            return bad("server URL with a query or fragment", url);
        while (!prefix.empty() && prefix.back() == '/')
            prefix.remove_suffix(1);
        out.path_prefix = std::string(prefix);
    }
    if (authority.find('@') != std::string_view::npos)
        return bad("server URL with user information", url);
    std::string_view host, port_text;
    if (!split_host_port(authority, host, port_text) || host.empty())
        return bad("server URL without a usable host", url);
    out.ep.host = std::string(host);
    out.ep.port = out.scheme == scheme::https ? 443 : 80;
    if (!port_text.empty() && (!parse_port(port_text, out.ep.port) || out.ep.port == 0))
        return bad("server URL with a bad port", url);
    return out;
}

core::result<std::optional<endpoint>> parse_listen_address(std::string_view address) {
    if (address.empty() || address == "0")
        return std::optional<endpoint>{};
    std::string_view host, port_text;
    if (!split_host_port(address, host, port_text) || port_text.empty())
        return bad("listen address is not [host]:port", address);
    endpoint ep;
    if (!parse_port(port_text, ep.port))
        return bad("listen address with a bad port", address);
    if (host.empty())
        ep.host = "0.0.0.0";
    else if (host == "localhost")
        ep.host = "127.0.0.1";
    else if (is_ip_literal(host))
        ep.host = std::string(host);
    else
        return bad("listen address host must be an IP address or localhost", address);
    return std::optional<endpoint>(std::move(ep));
}

} // namespace kubecoro::net
