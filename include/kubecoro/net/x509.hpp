// X.509 certificates for our own TLS servers (the admission webhook): a small CA and the serving
// certificates it signs, issued here so that running the webhook needs no other software. EC P-256
// keys, SHA-256 signatures. No I/O.
#pragma once

#include <kubecoro/core/result.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::net {

struct issued_certificate {
    std::string certificate_pem;
    std::string key_pem; // secret: never logged
};

struct certificate_request {
    std::string common_name;
    std::vector<std::string> dns_names;    // subjectAltName DNS entries
    std::vector<std::string> ip_addresses; // subjectAltName IP entries ("127.0.0.1")
    std::chrono::seconds validity{0};      // from now (valid from a minute ago, for clock skew)
    bool certificate_authority = false;    // CA:TRUE, may sign certificates
    int path_length = 0;                   // of a CA: how many CAs may come below it
};

// Self-signed when `issuer` is null; otherwise signed by the issuer's key (its first certificate).
core::result<issued_certificate> issue_certificate(const certificate_request& request,
                                                   const issued_certificate* issuer = nullptr);

struct certificate_info {
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    std::string serial; // hexadecimal
    std::string common_name;
    bool certificate_authority = false;
};

// Every certificate of a PEM bundle, in order. Fails (errc::tls_config) when there is none or one
// does not parse.
core::result<std::vector<certificate_info>> read_certificates(std::string_view pem);

// The certificates of a PEM bundle that have not expired, as PEM, in order ("" when none parse).
std::string unexpired_certificates(std::string_view pem);

// Whether `certificate_pem`'s first certificate, with the rest of that file as its intermediates,
// chains to a certificate of `ca_pem` and is valid now.
bool verifies(std::string_view certificate_pem, std::string_view ca_pem);

} // namespace kubecoro::net
