// Compression of short texts against a reference text they resemble: the cache's objects of one
// kind have the same keys and mostly the same values (a StatefulSet's 3 KB start script is the
// same in every Database's), so each is stored as its difference from the first one. zstd with
// the reference as a raw-content dictionary; this module owns zstd. Without zstd built in, make()
// returns nullptr and callers keep the text as it is.
#pragma once

#include <kubecoro/core/result.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::compress {

class dictionary {
public:
    // A dictionary of `reference`; nullptr when zstd is not built in.
    static std::shared_ptr<const dictionary> make(std::string reference);

    // `text` compressed, or nullopt when that would not save at least a quarter of it.
    std::optional<std::string> compress(std::string_view text) const;
    // What compress() was given; an error for bytes it did not make with this dictionary.
    core::result<std::string> decompress(std::string_view bytes) const;

    std::size_t size() const { return reference_.size(); }

    explicit dictionary(std::string reference)
        : reference_(std::move(reference)) {}

private:
    std::string reference_;
};

// True when zstd is built in.
bool available();

} // namespace kubecoro::compress
