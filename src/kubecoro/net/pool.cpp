#include <kubecoro/net/pool.hpp>

namespace kubecoro::net {

std::unique_ptr<connection> connection_pool::acquire(std::string_view key) {
    while (auto c = idle_.take(key)) {
        if ((*c)->usable_when_idle())
            return std::move(*c);
        (*c)->close();
    }
    return nullptr;
}

void connection_pool::release(std::string key, std::unique_ptr<connection> c) {
    if (!c || !c->is_open())
        return;
    if (auto evicted = idle_.put(std::move(key), std::move(c)))
        (*evicted)->close();
}

void connection_pool::clear() {
    for (auto& c : idle_.clear())
        c->close();
}

} // namespace kubecoro::net
