#include <kubecoro/net/errc.hpp>
#include <kubecoro/net/x509.hpp>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace kubecoro::net {
namespace {

template <auto F>
struct deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        F(p);
    }
};
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using key_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION_free>>;
using store_ptr = std::unique_ptr<X509_STORE, deleter<X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, deleter<X509_STORE_CTX_free>>;

core::failure failed(std::string_view what) {
    ::ERR_clear_error();
    return core::fail(errc::tls_config, "certificate: " + std::string(what));
}

bio_ptr memory(std::string_view text) {
    return bio_ptr(::BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string drain(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::vector<x509_ptr> read_all(std::string_view pem) {
    std::vector<x509_ptr> out;
    auto bio = memory(pem);
    while (X509* x = ::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        out.emplace_back(x);
    ::ERR_clear_error(); // the end of the input reads as an error
    return out;
}

bool add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    ext_ptr ext(::X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    return ext && ::X509_add_ext(cert, ext.get(), -1) == 1;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    ::ASN1_TIME_to_tm(t, &tm);
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

// Frees the stack only: its certificates belong to a vector of x509_ptr.
void sk_X509_free_all(STACK_OF(X509) * s) {
    sk_X509_free(s);
}

} // namespace

core::result<issued_certificate> issue_certificate(const certificate_request& request,
                                                   const issued_certificate* issuer) {
    if (request.validity.count() <= 0)
        return failed("validity must be positive");
    x509_ptr issuer_cert;
    key_ptr issuer_key;
    if (issuer) {
        auto certs = read_all(issuer->certificate_pem);
        auto bio = memory(issuer->key_pem);
        issuer_key.reset(::PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
        if (certs.empty() || !issuer_key)
            return failed("the issuer's certificate or key does not parse");
        issuer_cert = std::move(certs.front());
    }
    key_ptr key(::EVP_EC_gen("P-256"));
    x509_ptr cert(::X509_new());
    bn_ptr serial(::BN_new());
    if (!key || !cert || !serial)
        return failed("out of memory or no EC support");
    if (::X509_set_version(cert.get(), 2) != 1 ||
        ::BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        !::BN_to_ASN1_INTEGER(serial.get(), ::X509_get_serialNumber(cert.get())) ||
        !::X509_gmtime_adj(::X509_getm_notBefore(cert.get()), -60) ||
        !::X509_gmtime_adj(::X509_getm_notAfter(cert.get()), static_cast<long>(request.validity.count())) ||
        ::X509_set_pubkey(cert.get(), key.get()) != 1)
        return failed("setting the serial number, validity or key");
    X509_NAME* subject = ::X509_get_subject_name(cert.get());
    if (::X509_NAME_add_entry_by_txt(subject,
                                     "CN",
                                     MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(request.common_name.c_str()),
                                     -1,
                                     -1,
                                     0) != 1 ||
        ::X509_set_issuer_name(cert.get(), issuer ? ::X509_get_subject_name(issuer_cert.get()) : subject) !=
            1)
        return failed("setting the subject");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer_cert.get() : cert.get(), cert.get(), nullptr, nullptr, 0);
    std::string names;
    for (const auto& d : request.dns_names)
        names += (names.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& ip : request.ip_addresses)
        names += (names.empty() ? "IP:" : ",IP:") + ip;
    bool ok = add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash") &&
              add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    if (request.certificate_authority)
        ok = ok &&
             add_extension(cert.get(),
                           &ctx,
                           NID_basic_constraints,
                           "critical,CA:TRUE,pathlen:" + std::to_string(request.path_length)) &&
             add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    else
        ok = ok && add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
             add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
    if (ok && !names.empty())
        ok = add_extension(cert.get(), &ctx, NID_subject_alt_name, names);
    if (!ok)
        return failed("adding the extensions (a malformed name or address?)");
    if (::X509_sign(cert.get(), issuer ? issuer_key.get() : key.get(), ::EVP_sha256()) <= 0)
        return failed("signing");

    bio_ptr cert_out(::BIO_new(::BIO_s_mem()));
    bio_ptr key_out(::BIO_new(::BIO_s_mem()));
    if (!cert_out || !key_out || ::PEM_write_bio_X509(cert_out.get(), cert.get()) != 1 ||
        ::PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return failed("writing PEM");
    return issued_certificate{drain(cert_out.get()), drain(key_out.get())};
}

core::result<std::vector<certificate_info>> read_certificates(std::string_view pem) {
    auto certs = read_all(pem);
    if (certs.empty())
        return failed("no PEM certificate found");
    std::vector<certificate_info> out;
    for (const auto& c : certs) {
        certificate_info info;
        info.not_before = to_time_point(::X509_get0_notBefore(c.get()));
        info.not_after = to_time_point(::X509_get0_notAfter(c.get()));
        bn_ptr serial(::ASN1_INTEGER_to_BN(::X509_get0_serialNumber(c.get()), nullptr));
        if (serial) {
            char* hex = ::BN_bn2hex(serial.get());
            info.serial = hex ? hex : "";
            ::OPENSSL_free(hex);
        }
        char cn[256] = {};
        if (::X509_NAME_get_text_by_NID(::X509_get_subject_name(c.get()), NID_commonName, cn, sizeof cn) > 0)
            info.common_name = cn;
        info.certificate_authority = ::X509_check_ca(c.get()) > 0;
        out.push_back(std::move(info));
    }
    ::ERR_clear_error();
    return out;
}

std::string unexpired_certificates(std::string_view pem) {
    bio_ptr out(::BIO_new(::BIO_s_mem()));
    if (!out)
        return {};
    for (const auto& c : read_all(pem))
        if (::X509_cmp_current_time(::X509_get0_notAfter(c.get())) > 0)
            ::PEM_write_bio_X509(out.get(), c.get());
    ::ERR_clear_error();
    return drain(out.get());
}

bool verifies(std::string_view certificate_pem, std::string_view ca_pem) {
    auto leaf = read_all(certificate_pem);
    auto cas = read_all(ca_pem);
    store_ptr store(::X509_STORE_new());
    store_ctx_ptr ctx(::X509_STORE_CTX_new());
    if (leaf.empty() || cas.empty() || !store || !ctx)
        return false;
    for (const auto& ca : cas)
        ::X509_STORE_add_cert(store.get(), ca.get());
    // The rest of the certificate file is its chain (intermediates); an intermediate in the CA
    // bundle is trusted as it is (as the API server's Go client trusts any certificate there).
    ::X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
    using stack_ptr = std::unique_ptr<STACK_OF(X509), deleter<sk_X509_free_all>>;
    stack_ptr chain(sk_X509_new_null());
    if (!chain)
        return false;
    for (std::size_t i = 1; i < leaf.size(); ++i)
        sk_X509_push(chain.get(), leaf[i].get());
    bool ok = ::X509_STORE_CTX_init(ctx.get(), store.get(), leaf.front().get(), chain.get()) == 1 &&
              ::X509_verify_cert(ctx.get()) == 1;
    ::ERR_clear_error();
    return ok;
}

} // namespace kubecoro::net
