// The SQL client libraries (libpq, MariaDB Connector/C) are loaded when the operator first talks
// to a server of their engine, not when it starts: an operator that manages no database of an
// engine never maps that engine's library and what it depends on (libpq brings Kerberos, LDAP and
// GnuTLS: together the two cost 3.9 MiB of resident memory at start). Used by sql/ only.
#pragma once

#include <kubecoro/core/result.hpp>

#include <initializer_list>
#include <string>
#include <utility>

namespace kubecoro::sql::detail {

// A function of the library, by name, and where its address goes.
struct symbol {
    const char* name;
    void** address;
};
template <typename F>
symbol bind(const char* name, F*& function) {
    return {name, reinterpret_cast<void**>(&function)};
}

// bind() of `table.function` under the function's own name.
#define KUBECORO_SQL_SYMBOL(table, function) ::kubecoro::sql::detail::bind(#function, (table).function)

// Opens `soname` (kept open for the life of the process) and fills in every symbol. The error names
// the library and what is missing, and says which Debian package provides it.
core::result<void>
load_library(const char* soname, const char* package, std::initializer_list<symbol> symbols);

} // namespace kubecoro::sql::detail
