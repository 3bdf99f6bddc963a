"""Temporary alias of `jwm.noise` while planners/mcts moves over; removed with it."""
from jwm.noise import NOISE_KINDS, hashed_bits, mix32, standard_normal  # noqa: F401
