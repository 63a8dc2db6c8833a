// Boost.JSON compiled into the fuzz executables (fuzz builds only), so that the
// JSON parser is instrumented too: coverage of it guides the fuzzer towards
// well-formed messages. Its definitions take precedence over libboost_json.so.
#include <boost/json/src.hpp>
