// Texts compressed against a reference they resemble (compress/dictionary.hpp).
#include <kubecoro/compress/dictionary.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;

namespace {

// A StatefulSet-like text: a long script shared by every object of the kind, and a name.
std::string object_text(const std::string& name) {
    std::string script;
    for (int i = 0; i < 60; ++i)
        script += "step " + std::to_string(i) + ": pg_ctl -D \\\"$PGDATA\\\" -w start && psql -XAt\\n";
    return R"({"apiVersion":"apps/v1","kind":"StatefulSet","spec":{"serviceName":")" + name +
           R"(-headless","template":{"spec":{"containers":[{"name":"database","args":[")" + script +
           R"("]}]}}},"status":{"replicas":1}})";
}

} // namespace

TEST_CASE("dictionary: a text like the reference is stored as its difference, and comes back whole") {
    auto dict = compress::dictionary::make(object_text("first"));
    if (!compress::available()) {
        CHECK(dict == nullptr); // built without zstd: callers keep texts as they are
        return;
    }
    REQUIRE(dict);
    std::string text = object_text("second-database");
    auto bytes = dict->compress(text);
    REQUIRE(bytes);
    CAPTURE(bytes->size());
    CHECK(bytes->size() * 20 < text.size());
    CHECK(bytes->capacity() == bytes->size());
    auto back = dict->decompress(*bytes);
    REQUIRE(back);
    CHECK(*back == text);
    // The same text, the same bytes (the cache compares packed bytes to skip unchanged events).
    CHECK(dict->compress(text) == bytes);
    // The reference itself.
    auto self = dict->compress(object_text("first"));
    REQUIRE(self);
    CHECK(dict->decompress(*self).value() == object_text("first"));
}

TEST_CASE("dictionary: what compression would not shrink by a quarter is left to the caller") {
    auto dict = compress::dictionary::make(object_text("first"));
    if (!dict)
        return;
    // Random base64 (a Secret's data) has nothing in common with the reference.
    std::string noise;
    unsigned x = 12345;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 400; ++i) {
        x = x * 1103515245u + 12345u;
        noise.push_back(alphabet[(x >> 16) % 64]);
    }
    CHECK_FALSE(dict->compress(noise));
    CHECK_FALSE(dict->compress(""));
    CHECK_FALSE(dict->compress("{}"));
}

TEST_CASE("dictionary: bytes it did not make are an error, not a crash") {
    auto dict = compress::dictionary::make(object_text("first"));
    if (!dict)
        return;
    CHECK_FALSE(dict->decompress(""));
    CHECK_FALSE(dict->decompress("{\"not\":\"compressed\"}"));
    auto bytes = dict->compress(object_text("other"));
    REQUIRE(bytes);
    CHECK_FALSE(dict->decompress(bytes->substr(0, bytes->size() / 2)));
    std::string flipped = *bytes;
    flipped[flipped.size() - 1] ^= 0x5a;
    auto back = dict->decompress(flipped); // no checksum: an error, or a different text
    CHECK((!back || *back != object_text("other")));
}
