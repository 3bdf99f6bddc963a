"""Monte Carlo tree search on a vmappable array tree.

The package holds one builder per rule, `puct` (AlphaZero/MuZero), `gumbel` (Gumbel
MuZero) and `uct` (UCB1 with rollouts), each a `Planner` made by the one shared
assembly (`assembly`: evaluation, root, subtree reuse, acting) around the one
`search` loop (`search`) on a fixed-capacity `Tree` (`tree`); `sampled_actions`
(`continuous`), which wraps any builder for a Box action space; and `mcts`, which
picks a builder by its name in `RULES`. The selection scores and Q transforms the
rules compose are in `selection` and `qtransforms`, subtree reuse in `subtree`.
"""

from jwm.planners.mcts.assembly import MCTSInfo, MCTSState, SearchRule
from jwm.planners.mcts.continuous import sampled_actions
from jwm.planners.mcts.planner import RULES, mcts
from jwm.planners.mcts.rules import gumbel, puct, uct
from jwm.planners.mcts.search import NodeEvaluation, init_tree, search
from jwm.planners.mcts.tree import Tree

__all__ = ["MCTSInfo", "MCTSState", "NodeEvaluation", "RULES", "SearchRule", "Tree", "gumbel",
           "init_tree", "mcts", "puct", "sampled_actions", "search", "uct"]
