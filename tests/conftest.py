import os

# Tests run under pytest-xdist, two workers on two cores: one intra-op thread per
# worker keeps them from fighting over the cores.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
