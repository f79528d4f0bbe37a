#include <kubecoro/core/base64.hpp>

#include <doctest/doctest.h>

using kubecoro::core::base64_decode;
using kubecoro::core::base64_encode;

TEST_CASE("base64 round-trips the RFC 4648 test vectors") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
    }
    const std::string binary("\x00\xff\x10\x80", 4);
    CHECK(base64_decode(base64_encode(binary)) == std::optional<std::string>(binary));
    CHECK(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
    CHECK(base64_decode("//4A") == std::optional<std::string>(std::string("\xff\xfe\x00", 3)));
}

TEST_CASE("base64 ignores line breaks like Go's StdEncoding") {
    CHECK(base64_decode("Zm9v\nYmFy\r\n") == std::optional<std::string>("foobar"));
}

TEST_CASE("base64 rejects what Go's StdEncoding rejects") {
    CHECK_FALSE(base64_decode("Zm9vYg"));    // padding missing
    CHECK_FALSE(base64_decode("Zm9vY"));     // truncated
    CHECK_FALSE(base64_decode("Zm9v YmFy")); // space
    CHECK_FALSE(base64_decode("Zm9-"));      // URL alphabet
    CHECK_FALSE(base64_decode("Zg==Zm9v"));  // data after the padding
    CHECK_FALSE(base64_decode("Z=9v"));      // padding too early
    CHECK_FALSE(base64_decode("Zm=v"));      // data after '='
    CHECK_FALSE(base64_decode("===="));
    CHECK_FALSE(base64_decode("Zg="));      // short padding
    CHECK_FALSE(base64_decode("Z=g="));     // '=' inside the quantum
    CHECK_FALSE(base64_decode("Zg==Zg==")); // two padded quanta
    CHECK_FALSE(base64_decode("Zm9*"));     // outside the alphabet
}
