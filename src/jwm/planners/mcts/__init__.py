"""Monte Carlo tree search on a vmappable array tree."""

from jwm.planners.mcts.planner import RULES, MCTSInfo, MCTSState, mcts
from jwm.planners.mcts.search import NodeEvaluation, init_tree, search
from jwm.planners.mcts.tree import Tree

__all__ = ["MCTSInfo", "MCTSState", "NodeEvaluation", "RULES", "Tree", "init_tree", "mcts", "search"]
