#include "vnuma/place.hpp"

namespace vnumad::vnuma {

result<expansion> place(const config::domain& d, const host_topology& host, const ledger& held,
                        const expand_options& opt) {
  if (d.vnuma) return expand(d, host, held, opt);
  auto p = placement_of_explicit(d, host);
  if (!p) return p.error();
  return expansion{d, std::move(*p)};
}

}  // namespace vnumad::vnuma
