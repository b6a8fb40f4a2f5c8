"""rlft's built-in task plugins, each discovered through the ``rlft`` entry points like a third-party task."""
