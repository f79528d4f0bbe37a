#include <kubecoro/manager/registry.hpp>

namespace kubecoro::manager {
namespace {

// A function-local static: initialised before the first registration whatever the link order.
std::map<std::string, controller_factory>& registry() {
    static std::map<std::string, controller_factory> r;
    return r;
}

} // namespace

bool register_controller(std::string name, controller_factory factory) {
    registry().insert_or_assign(std::move(name), std::move(factory));
    return true;
}

const std::map<std::string, controller_factory>& registered_controllers() {
    return registry();
}

} // namespace kubecoro::manager
