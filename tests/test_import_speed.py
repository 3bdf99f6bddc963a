"""Interactive speed: `import jwm` and ``jwm --help`` import no heavy library (every
export loads on first use), and a model's eager ``init`` is one compiled program.
Asserted on ``sys.modules`` and compile counts, not on wall-clock time."""

import importlib
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jwm.spaces import Box

HEAVY = ("jax", "flax", "optax", "chex", "distrax", "flashbax", "orbax", "brax", "pgx",
         "gymnax", "matplotlib", "tqdm", "numpy")
PACKAGES = ("jwm", "jwm.agents", "jwm.envs", "jwm.eval", "jwm.imagination", "jwm.models",
            "jwm.planners", "jwm.sweeps", "jwm.training")

# Run in a fresh interpreter: this one has imported jax already.
FRESH = f"""
import json, sys
import jwm, jwm.cli
loaded = {{"import jwm": sorted(m for m in {HEAVY!r} if m in sys.modules)}}
try:
    jwm.cli.main(["--help"])
except SystemExit:
    pass
loaded["jwm --help"] = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps(loaded))
"""


def test_import_and_help_load_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"import jwm": [], "jwm --help": []}


def test_exports_load_on_access_and_submodules_do_not_hide_them():
    import jwm
    import jwm.agents.pets  # noqa: F401  (sets the submodule on jwm.agents, or would)
    import jwm.planners.mcts.search  # noqa: F401

    assert jwm.agents.pets.__module__ == "jwm.agents.pets" and callable(jwm.agents.pets)
    assert "flashbax" in sys.modules and "optax" in sys.modules
    assert callable(jwm.planners.mcts)
    from jwm.models import rssm  # a submodule without an export of its name: the module

    assert rssm.__name__ == jwm.models.rssm.__name__ == "jwm.models.rssm"
    for name in PACKAGES:
        package = importlib.import_module(name)
        assert set(package._lazy_exports) <= set(package.__all__) <= set(dir(package))
        for export in package.__all__:
            assert getattr(package, export) is not None


def count_compiles(fn):
    compiles = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        jax.block_until_ready(fn())
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return len(compiles)


def test_eager_rssm_init_compiles_once():
    from jwm.models import rssm_model

    def build():
        return rssm_model(Box(-1.0, 1.0, (3,)), Box(-1.0, 1.0, (1,)), deter=8, hidden=8,
                          stoch=2, classes=3, blocks=2, units=8, layers=1, num_bins=5)

    key, model, rebuilt = jax.random.key(7), build(), build()
    assert count_compiles(lambda: model.init(key)) == 1  # one program, not one per op
    # A model built with the same settings reuses it.
    assert count_compiles(lambda: rebuilt.init(key)) == 0


def test_net_init_gives_the_parameters_of_an_eager_init():
    from jwm.models.layers import NormMLP
    from jwm.models.net_init import net_init

    # The same network twice; the list field makes the second unhashable, compiled alone.
    nets, key = (NormMLP(8, 1, 2), NormMLP([8], None, 2)), jax.random.key(3)
    # What an eager init gives outside this suite, whose XLA_FLAGS lower the level eager
    # ops compile at: XLA's default level (fused or op by op, the same bits).
    want = jax.jit(lambda k: nets[0].init(k, jnp.zeros((3,), jnp.float32)),
                   compiler_options={"xla_backend_optimization_level": 2})(key)
    for net in nets:
        got = net_init(net, ((3,), jnp.float32))(key)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    # Traced, it is part of the caller's program (compiler options are top-level only).
    inside = jax.jit(jax.vmap(net_init(nets[0], ((3,), jnp.float32))))(jax.random.split(key))
    assert jax.tree.leaves(inside)[0].shape[0] == 2
