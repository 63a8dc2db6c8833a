#include "vnuma/place.hpp"

#include "vnuma/clear_of_dedicated.hpp"

namespace vnumad::vnuma {

result<expansion> place(const config::domain& d, const host_topology& host, const ledger& held,
                        const expand_options& opt) {
  if (d.vnuma) return expand(d, host, held, opt);
  auto p = placement_of_explicit(d, host);
  if (!p) return p.error();
  // Its author's pins, kept off threads other guests hold dedicated.
  if (auto ok = check_pins_not_all_dedicated(*p, held); !ok) return ok.error();
  pins_wanted wanted;
  for (const auto& v : p->vcpus) wanted.vcpus[v.vcpu] = v.host_cpus;
  wanted.emulator = p->emulator_cpus;
  auto granted = pins_clear_of_dedicated(*p, wanted, held, host);
  p->vcpus = std::move(granted.vcpus);
  p->emulator_cpus = std::move(granted.emulator);
  p->warnings.insert(p->warnings.end(), granted.notes.begin(), granted.notes.end());
  return expansion{d, std::move(*p)};
}

}  // namespace vnumad::vnuma
