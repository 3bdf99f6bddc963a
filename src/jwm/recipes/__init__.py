"""Recipes: each agent's default settings per environment, built into an `Agent`;
shared by the ``jwm`` command and ``experiments/``."""

from jwm.recipes.alphazero import ALPHAZERO
from jwm.recipes.base import Recipe, merge_config, results_record, run_recipe
from jwm.recipes.dreamer import DREAMER
from jwm.recipes.muzero import MUZERO
from jwm.recipes.pets import KNOWN_FUNCTIONS, PETS
from jwm.recipes.svg import MODEL_KINDS, SVG

RECIPES = {recipe.name: recipe for recipe in (PETS, SVG, DREAMER, MUZERO, ALPHAZERO)}

__all__ = ["ALPHAZERO", "DREAMER", "KNOWN_FUNCTIONS", "MODEL_KINDS", "MUZERO", "PETS", "RECIPES", "Recipe", "SVG",
           "merge_config", "results_record", "run_recipe"]
