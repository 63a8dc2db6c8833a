// Why a mode='node' guest with fewer cells than candidate nodes does not fit,
// said by its real cause: how many nodes it needs and with what, how many of
// the candidates qualify (and which), and what the others lack, grouped.
// Without it the operator saw only the first node the choice fell back on
// ("node 16 has 0 free threads ... needs 4 for cell 0"), which names a
// symptom and hides that 8 nodes had room where 16 were needed.
#pragma once

#include "vnuma/node_choice.hpp"

#include <string>
#include <vector>

namespace vnumad::vnuma {

// `assessed`: every candidate node of the guest (node_choice's assessment);
// `needed`: nodes the guest must use (one cell each). Meaningful when fewer
// than `needed` candidates fit.
std::string explain_no_fit(const std::vector<node_assessment>& assessed, unsigned needed, const cell_demand& demand);

}  // namespace vnumad::vnuma
