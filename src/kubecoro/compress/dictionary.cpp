#include <kubecoro/compress/dictionary.hpp>
#include <kubecoro/core/errc.hpp>

#if KUBECORO_HAVE_ZSTD
#include <mutex>
#include <zstd.h>
#endif

namespace kubecoro::compress {

#if KUBECORO_HAVE_ZSTD

namespace {

// One compression and one decompression context for the process (each a few hundred KiB of
// tables: one per dictionary would cost more than the dictionaries save), used under a lock. The
// loop is the only caller today; the lock keeps a second thread correct, not fast.
struct contexts {
    std::mutex lock;
    ZSTD_CCtx* c = nullptr;
    ZSTD_DCtx* d = nullptr;
};

contexts& shared() {
    static contexts* ctx = [] {
        auto* x = new contexts; // lives as long as the process: objects decode until the end
        x->c = ZSTD_createCCtx();
        x->d = ZSTD_createDCtx();
        return x;
    }();
    return *ctx;
}

// Fast: a text that resembles the reference is mostly long matches, found at any level. (The
// frames carry their content size, no checksum: a cache entry never leaves memory.)
constexpr int level = 1;

} // namespace

bool available() {
    return true;
}

std::shared_ptr<const dictionary> dictionary::make(std::string reference) {
    return std::make_shared<const dictionary>(std::move(reference));
}

std::optional<std::string> dictionary::compress(std::string_view text) const {
    std::size_t budget = text.size() - text.size() / 4;
    if (budget == 0)
        return std::nullopt;
    // Room for the budget only: zstd fails ("destination too small") on a text that would not fit.
    std::string out(budget, '\0');
    contexts& ctx = shared();
    std::size_t n;
    {
        std::lock_guard<std::mutex> g(ctx.lock);
        if (!ctx.c)
            return std::nullopt;
        n = ZSTD_compress_usingDict(ctx.c,
                                    out.data(),
                                    out.size(),
                                    text.data(),
                                    text.size(),
                                    reference_.data(),
                                    reference_.size(),
                                    level);
    }
    if (ZSTD_isError(n))
        return std::nullopt;
    out.resize(n);
    out.shrink_to_fit();
    return out;
}

core::result<std::string> dictionary::decompress(std::string_view bytes) const {
    unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 31))
        return core::fail(core::errc::invalid_argument, "not a compressed text of this dictionary");
    std::string out(static_cast<std::size_t>(size), '\0');
    contexts& ctx = shared();
    std::size_t n;
    {
        std::lock_guard<std::mutex> g(ctx.lock);
        if (!ctx.d)
            return core::fail(core::errc::invalid_argument, "zstd: no decompression context");
        n = ZSTD_decompress_usingDict(
            ctx.d, out.data(), out.size(), bytes.data(), bytes.size(), reference_.data(), reference_.size());
    }
    if (ZSTD_isError(n) || n != out.size())
        return core::fail(core::errc::invalid_argument,
                          std::string("zstd: ") + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short text"));
    return out;
}

#else

bool available() {
    return false;
}

std::shared_ptr<const dictionary> dictionary::make(std::string) {
    return nullptr;
}

std::optional<std::string> dictionary::compress(std::string_view) const {
    return std::nullopt;
}

core::result<std::string> dictionary::decompress(std::string_view) const {
    return core::fail(core::errc::not_supported, "built without zstd");
}

#endif

} // namespace kubecoro::compress
