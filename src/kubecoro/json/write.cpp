// Writing with RapidJSON: the only file that includes it.
#include <kubecoro/json/json.hpp>

#include <rapidjson/writer.h>

#include <cmath>

namespace kubecoro::json {
namespace {

// RapidJSON output stream appending to a std::string: no intermediate buffer to copy out of.
struct string_stream {
    using Ch = char;
    std::string& out;
    void Put(char c) { out.push_back(c); }
    void Flush() {}
};

// RapidJSON writes the scalars (string escaping, shortest round-trip doubles); brackets and
// separators are ours. RapidJSON 1.1.0's nesting stack does arithmetic on a null pointer on its
// first push, which UBSan reports; a writer that only ever writes one root scalar never pushes.
class tree_writer {
public:
    explicit tree_writer(std::string& out)
        : stream_{out}
        , w_(stream_) {}

    void write(const value& v) {
        std::visit([this](const auto& x) { put(x); }, v.raw());
    }

private:
    void put(std::nullptr_t) { scalar().Null(); }
    void put(bool b) { scalar().Bool(b); }
    void put(std::int64_t i) { scalar().Int64(i); }
    void put(double d) {
        // JSON has no NaN or infinity; null is what Go and JavaScript clients read as "no number".
        if (std::isfinite(d))
            scalar().Double(d);
        else
            scalar().Null();
    }
    void put(const std::string& s) { scalar().String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
    void put(const array& a) {
        stream_.Put('[');
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (i != 0)
                stream_.Put(',');
            write(a[i]);
        }
        stream_.Put(']');
    }
    void put(const object& o) {
        stream_.Put('{');
        bool first = true;
        for (const auto& [k, e] : o) {
            if (!first)
                stream_.Put(',');
            first = false;
            put(k);
            stream_.Put(':');
            write(e);
        }
        stream_.Put('}');
    }

    rapidjson::Writer<string_stream>& scalar() {
        w_.Reset(stream_);
        return w_;
    }

    string_stream stream_;
    rapidjson::Writer<string_stream> w_;
};

} // namespace

std::string write(const value& v) {
    std::string out;
    tree_writer(out).write(v);
    return out;
}

} // namespace kubecoro::json
