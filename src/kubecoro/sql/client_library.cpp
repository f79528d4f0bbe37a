#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/client_library.hpp>

#include <dlfcn.h>

namespace kubecoro::sql::detail {

core::result<void>
load_library(const char* soname, const char* package, std::initializer_list<symbol> symbols) {
    void* library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char* why = dlerror();
        return core::fail(core::errc::not_supported,
                          std::string("cannot load ") + soname + " (Debian package " + package +
                              "): " + (why ? why : "unknown error"));
    }
    for (const symbol& s : symbols) {
        *s.address = dlsym(library, s.name);
        if (!*s.address)
            return core::fail(core::errc::not_supported,
                              std::string(soname) + " has no " + s.name +
                                  ": not the expected library version");
    }
    return {};
}

} // namespace kubecoro::sql::detail
