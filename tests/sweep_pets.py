"""A tiny PETS learning-rate sweep, for the sweep tests: imported by them, and run
as a script in subprocesses with several (forced) CPU devices or several processes.

    python tests/sweep_pets.py OUT_DIR [--configs N] [--devices N]
        [--checkpoint-dir DIR] [--process-id I --num-processes P --port PORT]
"""

import argparse
import os
import sys

LEARNING_RATES = [1e-3, 3e-3, 1e-2, 3e-2]
SEEDS = 2


def factory(learning_rate, population=8):
    import jwm

    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = jwm.models.ensemble_model(env.observation_space, env.action_space,
                                      ensemble_size=2, hidden_sizes=(8,), particles=2)
    planner = jwm.planners.cem(model, env.action_space, horizon=3, population=population,
                               iterations=1)
    return jwm.agents.pets(env, model, planner, total_steps=30, steps_per_episode=10,
                           fit_options=dict(epochs=2, batch_size=8,
                                            learning_rate=learning_rate))


def configs(n=len(LEARNING_RATES)):
    import jwm

    return jwm.sweeps.grid(learning_rate=LEARNING_RATES[:n])


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--configs", type=int, default=len(LEARNING_RATES))
    parser.add_argument("--devices", type=int, default=None)
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--process-id", type=int, default=None)
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    import jax

    if args.process_id is not None:
        jax.distributed.initialize(coordinator_address=f"localhost:{args.port}",
                                   num_processes=args.num_processes,
                                   process_id=args.process_id)
    import jwm

    result = jwm.sweep(factory, configs(args.configs), seeds=SEEDS, key=0,
                       devices=args.devices, checkpoint_dir=args.checkpoint_dir,
                       checkpoint_every=1, progress=False)
    result.write(args.out, plots=False)
    print(f"devices {len(result.devices)} processes {result.processes} "
          f"local {len(jax.local_devices())}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    main(sys.argv[1:])
