// Where to connect and where to listen: parsing of server URLs and listen addresses. No I/O.
#pragma once

#include <kubecoro/core/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::net {

struct endpoint {
    std::string host; // a DNS name or an IP literal (IPv6 without brackets)
    std::uint16_t port = 0;

    // "host:port", with an IPv6 literal in brackets: "[::1]:6443".
    std::string to_string() const;
    bool operator==(const endpoint&) const = default;
};

// True for "127.0.0.1", "::1" and the like (no DNS, no SNI).
bool is_ip_literal(std::string_view host);

enum class scheme { http, https };

struct server_url {
    net::scheme scheme = scheme::https;
    endpoint ep;
    std::string path_prefix; // "" or "/some/prefix" without a trailing '/'
};

// "https://host[:port][/prefix]" (port defaults to 443, or 80 for http). Fails with errc::bad_address.
core::result<server_url> parse_server_url(std::string_view url);

// A listen address as the flags take it: ":8081" (all interfaces), "127.0.0.1:8081", "[::1]:8081",
// "localhost:8081". "0" (or "") means disabled: std::nullopt. Port 0 picks a free port.
core::result<std::optional<endpoint>> parse_listen_address(std::string_view address);

} // namespace kubecoro::net
