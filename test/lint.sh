#!/usr/bin/env bash
# Module boundaries that the compiler cannot see (Debian puts every header in /usr/include).
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
rule() { # description, pattern, allowed path regex
  local hits
  hits=$(git grep -nE "$2" -- 'src/*' 'include/*' | grep -vE "^($3)" || true)
  if [[ -n "$hits" ]]; then echo "lint: $1:"; echo "$hits"; bad=1; fi
}
rule "simdjson and RapidJSON only under json/" '#include <(simdjson|rapidjson)' 'src/kubecoro/json/'
rule "yaml-cpp only under config/" '#include <yaml-cpp' 'src/kubecoro/config/'
rule "OpenSSL only under net/, config/ and credential generation" '#include <openssl' 'src/kubecoro/(net|config)/|src/controllers/database/password'
rule "sockets only under net/" 'asio::ip::|asio::ssl::|#include <sys/socket' 'src/kubecoro/net/|include/kubecoro/net/'
rule "libpq only under sql/" '#include <libpq' 'src/kubecoro/sql/'
rule "zstd only under compress/" '#include <zstd' 'src/kubecoro/compress/'
rule "cpp-httplib never in the operator" '#include <httplib' '^$'
rule "no asio::detached for work that matters" 'asio::detached' '^$'
exit $bad
