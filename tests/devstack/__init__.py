"""The product's processes and the services they need, started on this machine the way
production runs them: shared by the stack tests (tests/stack, tests/production) and the load
benchmark (bench/load.py). Tooling, not product: it is not installed with the product, and no
product module imports it."""
